"""Automatic theory scores: against the versions and option orders each candidate saw, item by
item, idempotent; and rescoring, which changes nothing unless asked."""
from decimal import Decimal as D

from sqlalchemy import event, func, select, update

from exam.banks import qtypes
from exam.core.audit import AuditEvent
from exam.delivery import services as delivery
from exam.delivery.models import Attempt
from exam.extensions import db
from exam.scoring import services
from exam.scoring.models import TheoryScore

from .conftest import add_candidate, entry, right_answers, set_paper, sit


def _display_label_of(paper_entry, original_key):
    return qtypes.OPTION_KEYS[paper_entry["o"].index(original_key)]


def test_right_answers_in_display_labels_score_full_marks(world):
    for enrolment in world.enrolments:
        answers = right_answers(world, enrolment)
        answers[5] = "互锁防止短路"
        score = services.score_attempt(sit(world, enrolment, answers).id)
        assert score.raw_points == D("80.00")  # the short answer awaits its marker
        assert score.max_points == D("100.00")
        assert score.pending_count == 1 and not score.complete
        assert [row["points"] for row in score.items] == ["20.00", "20.00", "20.00", "10.00", "10.00", None]


def test_the_displayed_position_of_the_right_option_scores_not_its_original_letter(world):
    """The right answer is original option B; this candidate saw the options as C, A, D, B."""
    first, second = world.enrolments
    set_paper(world, first, [entry(world.versions[0], ["C", "A", "D", "B"])])
    set_paper(world, second, [entry(world.versions[0], ["C", "A", "D", "B"])])
    right = services.score_attempt(sit(world, first, {0: "D"}).id)  # fourth shown = original B
    assert right.items[0]["points"] == "20.00" and right.items[0]["correct"] is True
    wrong = services.score_attempt(sit(world, second, {0: "B"}).id)  # second shown = original A
    assert wrong.items[0]["points"] == "0.00" and wrong.items[0]["correct"] is False


def test_pinned_option_stays_last_and_scores_by_position(world):
    enrolment = add_candidate(world)
    db.session.commit()
    shown = world.papers[enrolment.id].items[1]
    assert shown["o"][-1] == "D"  # "以上都不对" is pinned last
    label_of_c = _display_label_of(shown, "C")
    score = services.score_attempt(sit(world, enrolment, {1: label_of_c}).id)
    assert score.items[1]["points"] == "20.00"
    other = add_candidate(world)
    db.session.commit()
    score = services.score_attempt(sit(world, other, {1: "D"}).id)  # the pinned "none of the above"
    assert score.items[1]["points"] == "0.00"


def test_multiple_choice_and_fill_blank_against_the_permutation(world):
    enrolment = world.enrolments[0]
    shown = world.papers[enrolment.id].items[2]
    labels = sorted(_display_label_of(shown, k) for k in ("A", "C", "D"))
    score = services.score_attempt(sit(world, enrolment, {2: labels, 4: ["A"], 3: False}).id)
    assert score.items[2]["points"] == "20.00"
    assert score.items[4]["points"] == "10.00"  # an accepted alternative
    assert score.items[3]["points"] == "0.00"


def test_scores_are_scaled_when_the_paper_is_not_worth_100(world):
    enrolment = world.enrolments[0]
    set_paper(world, enrolment, [entry(v, points="30") for v in world.versions[:4]])  # 120 points
    answers = right_answers(world, enrolment)
    answers.pop(3)
    score = services.score_attempt(sit(world, enrolment, answers).id)
    assert (score.raw_points, score.max_points, score.score) == (D("90.00"), D("120.00"), D("75.00"))
    assert score.scaled


def test_scoring_is_idempotent_and_reads_versions_in_one_query(world):
    enrolment = world.enrolments[0]
    attempt = sit(world, enrolment, right_answers(world, enrolment))
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        first = services.score_attempt(attempt.id)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    version_queries = [s for s in statements if "FROM item_versions" in s]
    assert len(version_queries) == 1
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 8
    again = services.score_attempt(attempt.id)
    assert again.id == first.id and again.score == first.score
    assert db.session.scalar(select(func.count(TheoryScore.id))) == 1
    scored_events = db.session.scalar(select(func.count(AuditEvent.seq)).where(AuditEvent.action == "theory.scored"))
    assert scored_events == 1


def test_an_open_attempt_is_not_scored(world):
    attempt = sit(world, world.enrolments[0], {}, status="in_progress")
    assert services.score_attempt(attempt.id) is None
    assert db.session.scalar(select(func.count(TheoryScore.id))) == 0


def test_delivery_scores_after_finalising(world, frozen_clock):
    """The delivery domain calls ``score_attempt`` right after an attempt is finalised."""
    from datetime import timedelta

    attempt = sit(world, world.enrolments[0], {0: "A"}, status="in_progress")
    db.session.execute(update(Attempt).where(Attempt.id == attempt.id)
                       .values(deadline_at=frozen_clock.now_utc() - timedelta(minutes=5)))
    db.session.commit()
    assert delivery.finalise_if_overdue(attempt.id)
    stored = db.session.scalar(select(TheoryScore).where(TheoryScore.attempt_id == attempt.id))
    assert stored is not None and stored.items[0]["v"] == world.versions[0].id


def _tamper(score_id: int, **values):
    db.session.execute(update(TheoryScore).where(TheoryScore.id == score_id).values(**values))
    db.session.commit()


def test_rescore_shows_differences_and_changes_nothing_unless_applied(world, app):
    enrolment = world.enrolments[0]
    score = services.score_attempt(sit(world, enrolment, right_answers(world, enrolment)).id)
    items = [dict(row) for row in score.items]
    items[0]["points"] = "0.00"
    _tamper(score.id, items=items, raw_points=D("60"), score=D("60"))
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["exam", "rescore", world.session.code])
    assert shown.exit_code == 0, shown.output
    assert f"{enrolment.ticket_no}: stored 60.00 → recomputed 80.00" in shown.output
    assert "item 1 (version" in shown.output and "stored 0.00 → recomputed 20.00" in shown.output
    assert "nothing changed" in shown.output
    db.session.expire_all()
    assert db.session.get(TheoryScore, score.id).score == D("60.00")
    assert db.session.scalar(select(func.count(AuditEvent.seq)).where(AuditEvent.action == "theory.rescored")) == 0

    applied = runner.invoke(args=["exam", "rescore", world.session.code, "--apply"])
    assert applied.exit_code == 0, applied.output
    db.session.expire_all()
    assert db.session.get(TheoryScore, score.id).score == D("80.00")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "theory.rescored"))
    assert event.details["from"] == "60.00" and event.details["to"] == "80.00"
    assert event.details["items"][0]["pos"] == 0
    again = runner.invoke(args=["exam", "rescore", world.session.code])
    assert "equals its recomputation" in again.output


def test_rescore_scores_finalised_attempts_that_were_never_scored(world):
    enrolment = world.enrolments[1]
    sit(world, enrolment, right_answers(world, enrolment))
    lines = services.rescore_session(world.session.id)
    assert len(lines) == 1 and lines[0].stored is None
    assert db.session.scalar(select(func.count(TheoryScore.id))) == 0
    services.rescore_session(world.session.id, apply=True)
    assert db.session.scalar(select(func.count(TheoryScore.id))) == 1
