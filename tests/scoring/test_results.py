"""Results: pass rules per component and overall, publication for working days, the session's
state, what certificates may be issued, and resits."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from exam.core.audit import AuditEvent
from exam.core.errors import Conflict, NotFound
from exam.extensions import db
from exam.scoring import services
from exam.scoring.models import Appeal, Publication, Result
from exam.sessions.models import ExamSession

from .conftest import add_candidate, build_world, fill, right_answers, sign_all, sit, t1


def finish(world, enrolment, *, theory=True, t1_totals=(80, 80, 80), t2_totals=(70, 70, 70), veto=False):
    """Sit the theory exam (right answers but the short one, 80 points; or nothing) and have the
    group sign T1 and the optional T2."""
    answers = right_answers(world, enrolment) if theory else {}
    answers.pop(5, None)
    services.score_attempt(sit(world, enrolment, answers).id)
    sign_all(world, enrolment, "T1", [t1(t, veto=veto) for t in t1_totals])
    sign_all(world, enrolment, "T2", [fill({"T2.1": t}) for t in t2_totals])


def result_of(enrolment) -> Result:
    return db.session.scalar(select(Result).where(Result.enrolment_id == enrolment.id))


def test_each_component_passes_at_its_pass_mark_and_the_result_when_all_pass(world):
    good, weak = world.enrolments
    finish(world, good)
    finish(world, weak, theory=False)
    services.compute_results(world.admin_actor, world.session.id)
    passed, failed = result_of(good), result_of(weak)
    assert (passed.theory_score, passed.practical_score) == (D("80.00"), D("76.00"))  # 0.6×80 + 0.4×70
    assert passed.states == {"theory": "passed", "practical": "passed"} and passed.passed is True
    assert failed.states == {"theory": "failed", "practical": "passed"} and failed.passed is False
    world.session.practical_pass_mark = D("80")
    db.session.commit()
    services.compute_results(world.admin_actor, world.session.id)
    db.session.refresh(passed)
    assert passed.states["practical"] == "failed" and passed.passed is False
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "result.computed")).all()
    assert {e.object_id for e in events} == {str(passed.id), str(failed.id)}


def test_a_confirmed_veto_fails_the_practical_whatever_the_points(world):
    enrolment = world.enrolments[0]
    finish(world, enrolment, t1_totals=(98, 99, 100), veto=True)
    services.compute_results(world.admin_actor, world.session.id)
    result = result_of(enrolment)
    assert result.practical_score == D("87.40") and result.practical_veto
    assert result.states["practical"] == "failed" and result.passed is False


def test_pending_until_every_component_is_scored(world):
    enrolment = world.enrolments[0]
    answers = right_answers(world, enrolment)
    answers[5] = "需要人工评分的回答"
    services.score_attempt(sit(world, enrolment, answers).id)
    sign_all(world, enrolment, "T1", [t1(80)] * 3)
    services.compute_results(world.admin_actor, world.session.id)
    result = result_of(enrolment)
    assert result.states == {"theory": "pending", "practical": "pending"} and result.passed is None
    with pytest.raises(Conflict):
        services.publish_results(world.admin_actor, world.session.id)
    assert db.session.scalar(select(func.count(Publication.id))) == 0


def test_no_attempt_in_a_finished_session_is_absent(world):
    enrolment = world.enrolments[0]
    sign_all(world, enrolment, "T1", [t1(80)] * 3)
    sign_all(world, enrolment, "T2", [fill({"T2.1": 80})] * 3)
    services.compute_results(world.admin_actor, world.session.id)
    result = result_of(enrolment)
    assert result.states["theory"] == "absent" and result.theory_score is None and result.passed is False


def test_an_admin_records_an_absence_from_the_practical(world):
    enrolment = world.enrolments[0]
    services.score_attempt(sit(world, enrolment, {0: "A"}).id)
    services.record_absence(world.admin_actor, enrolment.id, "practical", "未到场")
    result = result_of(enrolment)
    assert result.states["practical"] == "absent" and result.passed is False
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "result.absence_recorded"))
    assert event.details == {"enrolment_id": enrolment.id, "component": "practical", "reason": "未到场"}


def test_a_resit_enrolment_is_judged_on_its_own_components(world):
    resit = add_candidate(world, components=["practical"])
    db.session.commit()
    sign_all(world, resit, "T1", [t1(70)] * 3)
    sign_all(world, resit, "T2", [fill({"T2.1": 65})] * 3)
    services.compute_results(world.admin_actor, world.session.id)
    result = result_of(resit)
    assert result.components == ["practical"] and result.states == {"practical": "passed"} and result.passed


def test_publication_for_five_working_days_sets_the_session_state(world, frozen_clock):
    for enrolment in world.enrolments:
        finish(world, enrolment)
    # Frozen at Monday 2 March 2026, 09:00 Beijing.
    publication = services.publish_results(world.admin_actor, world.session.id)
    assert publication.ends_at == datetime(2026, 3, 9, 16, 0, tzinfo=timezone.utc)
    assert publication.appeal_ends_at == publication.ends_at
    db.session.refresh(world.session)
    assert world.session.status == "results_published"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "results.published")) is not None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session.results_published")) is not None
    with pytest.raises(Conflict):
        services.publish_results(world.admin_actor, world.session.id)
    with pytest.raises(Conflict):
        services.compute_results(world.admin_actor, world.session.id)


def test_publication_days_and_appeal_days_are_configurable(world, frozen_clock):
    for enrolment in world.enrolments:
        finish(world, enrolment)
    publication = services.publish_results(world.admin_actor, world.session.id, days=3, appeal_days=10)
    assert publication.ends_at == datetime(2026, 3, 5, 16, 0, tzinfo=timezone.utc)
    assert publication.appeal_ends_at == datetime(2026, 3, 16, 16, 0, tzinfo=timezone.utc)


def test_appeal_days_are_at_most_ten(world):
    from exam.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.publish_results(world.admin_actor, world.session.id, appeal_days=11)


def test_a_session_that_is_not_finished_cannot_be_published(app_ctx, frozen_clock):
    world = build_world(status="in_progress")
    for enrolment in world.enrolments:
        finish(world, enrolment)
    with pytest.raises(Conflict):
        services.publish_results(world.admin_actor, world.session.id)
    assert db.session.scalar(select(func.count(Publication.id))) == 0
    assert db.session.get(ExamSession, world.session.id).status == "in_progress"


def test_issuable_after_the_publication_period_without_open_appeals(world, frozen_clock):
    good, weak = world.enrolments
    finish(world, good)
    finish(world, weak, theory=False)
    services.publish_results(world.admin_actor, world.session.id)
    assert services.issuable_enrolment_ids(world.session.id) == []
    later = frozen_clock.now_utc() + timedelta(days=8)
    assert services.issuable_enrolment_ids(world.session.id, at=later) == [good.id]
    services.file_appeal(world.actor(world.candidates[0]), result_of(good).id, "理论成绩复核")
    assert services.issuable_enrolment_ids(world.session.id, at=later) == []
    appeal = db.session.scalar(select(Appeal))
    services.answer_appeal(world.admin_actor, appeal.id, checks={}, answer="经复核，成绩无误。")
    assert services.issuable_enrolment_ids(world.session.id, at=later) == [good.id]


def test_resit_components_from_the_latest_published_result(world, frozen_clock):
    failed_theory, failed_both = world.enrolments
    finish(world, failed_theory, theory=False)
    services.score_attempt(sit(world, failed_both, {}).id)
    sign_all(world, failed_both, "T1", [t1(30)] * 3)
    sign_all(world, failed_both, "T2", [fill({"T2.1": 30})] * 3)
    occupation, level = world.session.occupation_id, world.session.level
    user = world.candidates[0].id
    assert services.resit_components(user, occupation, level, frozen_clock.now_utc()) == []  # not published
    services.publish_results(world.admin_actor, world.session.id)
    now = frozen_clock.now_utc()
    assert services.resit_components(user, occupation, level, now) == ["theory"]
    assert services.resit_components(world.candidates[1].id, occupation, level, now) == []  # failed everything
    assert services.resit_components(user, occupation, level, now + timedelta(days=366)) == []
    assert services.resit_components(user, occupation, 3, now) == []


def test_resit_period_is_a_session_setting(world, frozen_clock):
    finish(world, world.enrolments[0], theory=False)
    finish(world, world.enrolments[1])
    services.update_settings(world.admin_actor, world.session.id, services.SettingsData(
        None, None, "mean", "10", "40", 30))
    services.publish_results(world.admin_actor, world.session.id)
    user, now = world.candidates[0].id, frozen_clock.now_utc()
    args = (world.session.occupation_id, world.session.level)
    assert services.resit_components(user, *args, now + timedelta(days=29)) == ["theory"]
    assert services.resit_components(user, *args, now + timedelta(days=31)) == []


def test_another_bodys_admin_cannot_see_or_change_results(world, app_ctx):
    other = build_world(candidates=1)
    with pytest.raises(NotFound):
        services.session_results(other.admin_actor, world.session.id)
    with pytest.raises(NotFound):
        services.compute_results(other.admin_actor, world.session.id)
    with pytest.raises(NotFound):
        services.publish_results(other.admin_actor, world.session.id)
    with pytest.raises(NotFound):
        services.record_absence(other.admin_actor, world.enrolments[0].id, "theory", "x")
    rows = services.results_sessions(other.admin_actor, other.org.id)
    assert [r.session.id for r in rows] == [other.session.id]


def test_scaled_theory_is_said_on_the_result(world):
    from .conftest import entry, set_paper

    enrolment = world.enrolments[0]
    set_paper(world, enrolment, [entry(v, points="30") for v in world.versions[:4]])
    services.score_attempt(sit(world, enrolment, right_answers(world, enrolment)).id)
    services.compute_results(world.admin_actor, world.session.id)
    result = result_of(enrolment)
    assert result.theory_score == D("100.00") and result.notes["theory_scaled_from"] == "120.00"
