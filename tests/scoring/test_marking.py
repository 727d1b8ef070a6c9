"""Anonymous marking of short answers: by marking code only, single or double marking with a
tolerance, a third mark or the chief assessor deciding, and recusal."""
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from exam.core.audit import AuditEvent
from exam.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from exam.extensions import db
from exam.scoring import services
from exam.scoring.models import ScoringSettings, TheoryScore

from ..factories import sign_in
from .conftest import relate, right_answers, sit

SHORT = 5  # position of the short answer in the fixture's papers


def _sat(world, index=0, text="防止两个接触器同时吸合"):
    enrolment = world.enrolments[index]
    answers = right_answers(world, enrolment)
    answers[SHORT] = text
    return services.score_attempt(sit(world, enrolment, answers).id)


def _double(world, tolerance="2"):
    db.session.add(ScoringSettings(org_id=world.org.id, session_id=world.session.id, double_marking=True,
                                   marking_tolerance=D(tolerance)))
    db.session.commit()


def _mark(world, user, score, points):
    return services.record_mark(world.actor(user), world.session.id, score.marking_code, SHORT, points)


def test_queue_shows_the_marking_code_and_answer_never_the_candidate(world, client):
    score = _sat(world)
    queue = services.marking_queue(world.actor(world.assessors[0]), world.session.id)
    assert [(e.marking_code, e.position) for e in queue.entries] == [(score.marking_code, SHORT)]
    assert queue.entries[0].answer == "防止两个接触器同时吸合"
    sign_in(client, world.assessors[0], world.org)
    page = client.get(f"/scoring/sessions/{world.session.id}/marking")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    candidate, enrolment = world.candidates[0], world.enrolments[0]
    assert score.marking_code in html and "防止两个接触器同时吸合" in html
    for secret in (candidate.real_name, candidate.id_number, enrolment.ticket_no, candidate.username):
        assert secret not in html
    done = client.post(f"/scoring/sessions/{world.session.id}/marking",
                       data={"marking_code": score.marking_code, "position": SHORT, "points": "15"})
    assert done.status_code == 302
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    for secret in (candidate.real_name, candidate.id_number, enrolment.ticket_no):
        assert secret not in after


def test_single_marking_settles_the_item_and_the_score(world):
    score = _sat(world)
    assert score.pending_count == 1
    _mark(world, world.assessors[0], score, "15.5")
    db.session.expire_all()
    score = db.session.get(TheoryScore, score.id)
    assert score.items[SHORT]["points"] == "15.50"
    assert score.raw_points == D("95.50") and score.pending_count == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "theory.marked"))
    assert event.actor_user_id == world.assessors[0].id and event.details["settled"] == "15.50"
    with pytest.raises(Conflict):
        _mark(world, world.assessors[1], score, "10")


def test_points_within_the_items_maximum(world):
    score = _sat(world)
    for bad in ("21", "-1", "abc", "1.005"):
        with pytest.raises(ValidationFailed):
            _mark(world, world.assessors[0], score, bad)


def test_double_marking_within_tolerance_is_the_mean(world):
    _double(world)
    score = _sat(world)
    _mark(world, world.assessors[0], score, "14")
    db.session.expire_all()
    assert db.session.get(TheoryScore, score.id).pending_count == 1
    with pytest.raises(Conflict):
        _mark(world, world.assessors[0], score, "15")  # the same marker twice
    # The second marker does not see the first mark.
    queue = services.marking_queue(world.actor(world.assessors[1]), world.session.id)
    assert queue.entries[0].earlier == []
    _mark(world, world.assessors[1], score, "16")
    db.session.expire_all()
    settled = db.session.get(TheoryScore, score.id)
    assert settled.items[SHORT]["points"] == "15.00" and settled.pending_count == 0


def test_double_marking_beyond_tolerance_needs_a_third_mark(world):
    _double(world)
    score = _sat(world)
    _mark(world, world.assessors[0], score, "6")
    _mark(world, world.assessors[1], score, "16")
    db.session.expire_all()
    assert db.session.get(TheoryScore, score.id).pending_count == 1
    third = services.marking_queue(world.actor(world.chief), world.session.id).entries[0]
    assert third.state == "third" and third.earlier == [D("6.00"), D("16.00")]  # the chief sees them
    # A third marker who is not the chief: agrees with the second within the tolerance.
    extra = world.panelists[0]
    from exam.sessions.models import SessionStaff

    db.session.add(SessionStaff(session_id=world.session.id, user_id=extra.id, role="assessor", group_no=2))
    db.session.commit()
    entry = services.marking_queue(world.actor(extra), world.session.id).entries[0]
    assert entry.state == "third" and entry.earlier == []
    _mark(world, extra, score, "15")
    db.session.expire_all()
    assert db.session.get(TheoryScore, score.id).items[SHORT]["points"] == "15.50"


def test_a_third_mark_that_agrees_with_neither_goes_to_the_chief(world):
    _double(world)
    score = _sat(world)
    extra, fourth = world.panelists[:2]
    from exam.sessions.models import SessionStaff

    for user in (extra, fourth):
        db.session.add(SessionStaff(session_id=world.session.id, user_id=user.id, role="assessor", group_no=2))
    db.session.commit()
    _mark(world, world.assessors[0], score, "2")
    _mark(world, world.assessors[1], score, "18")
    _mark(world, extra, score, "10")
    assert services.marking_queue(world.actor(fourth), world.session.id).entries == []
    with pytest.raises(PermissionDenied):
        _mark(world, fourth, score, "9")  # only the chief decides now
    chief_entry = services.marking_queue(world.actor(world.chief), world.session.id).entries[0]
    assert chief_entry.state == "chief"
    _mark(world, world.chief, score, "12")
    db.session.expire_all()
    assert db.session.get(TheoryScore, score.id).items[SHORT]["points"] == "12.00"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "theory.marked")
                               .order_by(AuditEvent.seq.desc())).first()
    assert event.details["chief"] is True


def test_a_marker_never_gets_a_candidate_they_declared_a_relation_with(world):
    score = _sat(world)
    relate(world, world.assessors[0], world.candidates[0])
    assert services.marking_queue(world.actor(world.assessors[0]), world.session.id).entries == []
    with pytest.raises(NotFound):
        _mark(world, world.assessors[0], score, "10")


def test_only_the_sessions_markers_mark(world):
    score = _sat(world)
    with pytest.raises(NotFound):
        services.marking_queue(world.actor(world.panelists[0]), world.session.id)
    with pytest.raises(NotFound):
        _mark(world, world.panelists[0], score, "10")


def test_double_marking_can_come_from_the_paper_plan(world):
    world.blueprint.spec = {"sections": [], "marking": {"double": True, "tolerance": 3}}
    db.session.commit()
    score = _sat(world)
    _mark(world, world.assessors[0], score, "8")
    db.session.expire_all()
    assert db.session.get(TheoryScore, score.id).pending_count == 1
    _mark(world, world.assessors[1], score, "10.5")
    db.session.expire_all()
    assert db.session.get(TheoryScore, score.id).items[SHORT]["points"] == "9.25"
    settings = services.session_settings(world.admin_actor, world.session.id)
    assert settings.double_marking and settings.marking_tolerance == D("3")


def test_settings_in_use_cannot_change(world):
    score = _sat(world)
    _mark(world, world.assessors[0], score, "8")
    with pytest.raises(Conflict):
        services.update_settings(world.admin_actor, world.session.id,
                                 services.SettingsData(True, "2", "mean", "10", "40", 365))
    services.update_settings(world.admin_actor, world.session.id,
                             services.SettingsData(None, None, "mean", "10", "40", 200))
    assert services.session_settings(world.admin_actor, world.session.id).resit_days == 200
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "scoring.settings_changed"))
    assert event.details["changes"]["resit_days"]["to"] == 200


def test_the_sessions_setting_wins_over_the_paper_plan(world):
    world.blueprint.spec = {"sections": [], "marking": {"double": True, "tolerance": 3}}
    db.session.commit()
    services.update_settings(world.admin_actor, world.session.id,
                             services.SettingsData(False, "0.5", "mean", "10", "40", 365))
    settings = services.session_settings(world.admin_actor, world.session.id)
    assert not settings.double_marking and settings.marking_tolerance == D("0.5")
