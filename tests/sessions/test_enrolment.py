"""Applying online, decisions with reasons, accommodations, prior platform certificates, seats,
and one body never seeing another's data."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from exam.accounts.models import Membership
from exam.certificates.models import Certificate
from exam.core.audit import AuditEvent
from exam.core.clock import now_utc
from exam.core.errors import Conflict, Gone, NotFound, PermissionDenied, ValidationFailed
from exam.extensions import db
from exam.sessions import enrolments, services
from exam.sessions.models import Enrolment, ExamSession
from exam.sessions.services import RoomData

from .conftest import (EVIDENCE_LEVEL5, actor_of, enrol, make_bank_and_blueprint, make_candidate, make_world,
                       published_session, session_data)


def test_apply_approve_and_the_candidate_sees_the_ticket_number(world, factory):
    session = published_session(world)
    candidate = make_candidate(factory, "周小明")
    enrolment = services.apply_for_session(actor_of(candidate), session.id, EVIDENCE_LEVEL5)
    assert enrolment.status == "applied" and enrolment.source == "online"
    assert enrolment.eligibility["eligible"] is True and enrolment.eligibility["source"] == "default"
    assert db.session.scalar(select(Membership).where(  # applying made them a candidate of the body
        Membership.user_id == candidate.id, Membership.org_id == world.org.id, Membership.role == "candidate"))
    services.decide_enrolments(world.admin_actor, session.id, [enrolment.id], True)
    mine = enrolments.my_enrolments(actor_of(candidate))
    assert [e.status for e in mine] == ["approved"]
    assert mine[0].ticket_no == f"26{session.id:06d}0001"
    assert not enrolments.ticket_available(mine[0])  # no seat yet
    enrolments.assign_seats(world.admin_actor, session.id)
    assert enrolments.ticket_available(db.session.get(Enrolment, enrolment.id))


def test_a_rejection_needs_a_reason_which_the_candidate_sees(world, factory):
    session = published_session(world)
    enrolment = enrol(world, factory, session, approve=False, evidence={"years_in_occupation": 0.5})
    assert enrolment.eligibility["eligible"] is False
    with pytest.raises(ValidationFailed) as caught:
        services.decide_enrolments(world.admin_actor, session.id, [enrolment.id], False, " ")
    assert caught.value.problems[0].location == "reason"
    services.decide_enrolments(world.admin_actor, session.id, [enrolment.id], False, "从事本职业不满 1 年")
    mine = enrolments.my_enrolments(actor_of(enrolment.user))[0]
    assert (mine.status, mine.decision_reason) == ("rejected", "从事本职业不满 1 年")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "enrolment.rejected"))
    assert event.details["reason"] == "从事本职业不满 1 年" and event.actor_user_id == world.admin.id
    # With better evidence, while enrolment is open, the candidate applies again.
    again = services.apply_for_session(actor_of(enrolment.user), session.id, EVIDENCE_LEVEL5)
    assert again.id == enrolment.id and again.status == "applied" and again.decision_reason is None


def test_bulk_decisions_are_all_or_nothing(world, factory):
    session = published_session(world)
    a = enrol(world, factory, session, "甲", approve=False)
    b = enrol(world, factory, session, "乙", approve=False)
    services.decide_enrolments(world.admin_actor, session.id, [a.id, b.id], True)
    assert {e.status for e in enrolments.session_enrolments(world.admin_actor, session.id)} == {"approved"}
    numbers = {db.session.get(Enrolment, e.id).ticket_no for e in (a, b)}
    assert len(numbers) == 2
    c = enrol(world, factory, session, "丙", approve=False)
    enrolments.withdraw_enrolment(actor_of(c.user), c.id)
    with pytest.raises(ValidationFailed):
        services.decide_enrolments(world.admin_actor, session.id, [a.id, c.id], False, "名额已满")
    assert db.session.get(Enrolment, a.id).status == "approved"


def test_no_photo_no_id_closed_window(world, factory, frozen_clock):
    session = published_session(world)
    no_photo = make_candidate(factory, "无照片", photo=False)
    with pytest.raises(ValidationFailed) as caught:
        services.apply_for_session(actor_of(no_photo), session.id, EVIDENCE_LEVEL5)
    assert [p.location for p in caught.value.problems] == ["photo"]
    assert "Upload your photo" in caught.value.problems[0].message
    with pytest.raises(ValidationFailed):  # a staff account without an ID number
        services.apply_for_session(actor_of(world.supervisor), session.id, EVIDENCE_LEVEL5)
    frozen_clock.advance(timedelta(days=6))
    with pytest.raises(Gone):
        services.apply_for_session(actor_of(make_candidate(factory)), session.id, EVIDENCE_LEVEL5)
    assert enrolments.open_sessions(actor_of(no_photo)) == []


def test_drafts_are_invisible_to_candidates(world, factory):
    draft = services.create_session(world.admin_actor, world.org.id, session_data(world))
    with pytest.raises(NotFound):
        services.apply_for_session(actor_of(make_candidate(factory)), draft.id, EVIDENCE_LEVEL5)


def test_accommodations(world, factory):
    session = published_session(world)
    enrolment = enrol(world, factory, session)
    with pytest.raises(ValidationFailed) as caught:
        services.set_accommodation(world.admin_actor, enrolment.id, 20, None, "")
    assert caught.value.problems[0].location == "accommodation_reason"
    with pytest.raises(ValidationFailed) as caught:
        services.set_accommodation(world.admin_actor, enrolment.id, 20, "1.5", "视力障碍")
    assert "not both" in caught.value.problems[0].message
    services.set_accommodation(world.admin_actor, enrolment.id, None, "1.5", "视力障碍，放大字号")
    enrolment = db.session.get(Enrolment, enrolment.id)
    assert enrolment.time_multiplier == Decimal("1.50") and enrolment.extra_minutes == 0
    start = session.theory_start_at
    assert services.attempt_deadline_for(enrolment, start) == start + timedelta(minutes=135)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "enrolment.accommodation_set"))
    assert event.details["after"] == {"extra_minutes": 0, "time_multiplier": "1.50", "reason": "视力障碍，放大字号"}
    assert event.details["before"]["time_multiplier"] == "1.00"


def test_seats_respect_capacity_and_manual_moves(world, factory):
    session = published_session(world, rooms=[
        RoomData(name="小考场", capacity=2, proctor_ids=[world.proctors[0].id, world.proctors[1].id])])
    people = [enrol(world, factory, session, f"考生{i}") for i in range(3)]
    seated, left = enrolments.assign_seats(world.admin_actor, session.id)
    assert seated == 2 and [e.id for e in left] == [people[2].id]
    first = db.session.get(Enrolment, people[0].id)
    room_id, seat_no = first.room_id, first.seat_no
    with pytest.raises(Conflict) as caught:
        enrolments.move_candidate(world.admin_actor, people[2].id, room_id, seat_no)
    assert "is taken by 考生0" in caught.value.message
    enrolments.move_candidate(world.admin_actor, people[0].id, None, None)
    moved = enrolments.move_candidate(world.admin_actor, people[2].id, room_id, None)
    assert moved.seat_no == 1


# --- prior certificates issued on this platform ------------------------------------------------------

def _certificate(world, holder, number: str, level: int, status: str = "valid") -> Certificate:
    earlier = ExamSession(org_id=world.org.id, occupation_id=world.occupation.id, level=level, name="往期",
                          code=f"OLD-{number[-4:]}", status="results_published", components=["theory"])
    db.session.add(earlier)
    db.session.flush()
    enrolment = Enrolment(session_id=earlier.id, user_id=holder.id, status="approved")
    db.session.add(enrolment)
    db.session.flush()
    certificate = Certificate(
        org_id=world.org.id, number=number, enrolment_id=enrolment.id, holder_user_id=holder.id,
        holder_name=holder.real_name, holder_id_type=holder.id_type, holder_id_number=holder.id_number,
        issuer_name=world.org.name, occupation_code=world.occupation.code, occupation_name=world.occupation.name,
        level=level, level_name="五级/初级工", issued_on=date(2022, 6, 1), kid="k1", signature="s", status=status)
    db.session.add(certificate)
    db.session.commit()
    return certificate


def test_a_prior_certificate_from_this_platform_is_checked_automatically(world, factory):
    _, blueprint = make_bank_and_blueprint(world.org, world.occupation, level=4)
    db.session.commit()
    session = published_session(world, code="ELEC4", level=4, components=["theory"], blueprint_id=blueprint.id,
                                practical_spec_version_id=None, assessor_groups={}, chief_assessor_id=None,
                                rooms=[RoomData(name="A", capacity=20,
                                                proctor_ids=[world.proctors[0].id, world.proctors[1].id])])
    holder = make_candidate(factory, "持证人")
    other = make_candidate(factory, "冒用者")
    mine = _certificate(world, holder, "Y001244030001225000001", 5)
    revoked = _certificate(world, holder, "Y001244030001225000002", 5, status="revoked")
    evidence = {"years_in_occupation": 4, "prior_certificate_number": mine.number, "prior_certificate_level": 5}

    enrolment = services.apply_for_session(actor_of(holder), session.id, evidence)
    way = enrolment.eligibility["alternatives"][0]["conditions"][0]
    assert enrolment.eligibility["eligible"] and way["source"] == "platform" and way["code"] == "prior_ok_platform"

    borrowed = services.apply_for_session(actor_of(other), session.id, evidence)
    assert borrowed.eligibility["alternatives"][0]["conditions"][0]["code"] == "prior_other_holder"
    assert not borrowed.eligibility["alternatives"][0]["ok"]

    services.apply_for_session(actor_of(holder), session.id, {**evidence, "prior_certificate_number": revoked.number})
    again = db.session.scalar(select(Enrolment).where(Enrolment.session_id == session.id,
                                                      Enrolment.user_id == holder.id))
    assert again.eligibility["alternatives"][0]["conditions"][0]["code"] == "prior_not_valid"
    assert enrolments.prior_certificate_lookup("S000000000000000000000") is None


# --- eligibility policies ----------------------------------------------------------------------------

def test_a_body_sets_its_own_rules_and_can_go_back_to_the_default(world, factory):
    session = published_session(world)
    enrolments.save_policy(world.admin_actor, world.org.id, 5, None, [[{"years": 3}]])
    enrolment = enrol(world, factory, session, approve=False)  # 2 years: enough by default, not here
    assert enrolment.eligibility["source"] == "body" and not enrolment.eligibility["eligible"]
    enrolments.save_policy(world.admin_actor, world.org.id, 5, world.occupation.id, [[{"years": 2}]])
    assert enrolments.recheck_eligibility(world.admin_actor, session.id) == 1
    assert db.session.get(Enrolment, enrolment.id).eligibility["source"] == "occupation"
    with pytest.raises(ValidationFailed):
        enrolments.save_policy(world.admin_actor, world.org.id, 5, None, [[{"years": -2}]])
    enrolments.save_policy(world.admin_actor, world.org.id, 5, None, None)
    enrolments.save_policy(world.admin_actor, world.org.id, 5, world.occupation.id, None)
    assert enrolments.rules_for(world.org.id, world.occupation.id, 5).source == "default"
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("eligibility.%"))))
    assert actions == {"eligibility.policy_saved", "eligibility.policy_reset"}


# --- one body never sees another's --------------------------------------------------------------------

def test_other_bodies_see_nothing(world, factory):
    session = published_session(world)
    enrolment = enrol(world, factory, session)
    other = make_world(factory, "OTHER")
    outsider = other.admin_actor
    for call in (lambda: services.get_session(outsider, session.id),
                 lambda: enrolments.session_enrolments(outsider, session.id),
                 lambda: services.decide_enrolments(outsider, session.id, [enrolment.id], False, "x"),
                 lambda: services.set_accommodation(outsider, enrolment.id, 10, None, "x"),
                 lambda: enrolments.move_candidate(outsider, enrolment.id, None, None),
                 lambda: services.publish_session(outsider, session.id),
                 lambda: services.close_enrolment(outsider, session.id),
                 lambda: enrolments.evaluation_of(outsider, enrolment.id)):
        with pytest.raises(NotFound):
            call()
    assert services.list_sessions(outsider, other.org.id) == []
    with pytest.raises(NotFound):
        services.list_sessions(outsider, world.org.id)
    with pytest.raises(NotFound):  # another candidate's enrolment
        enrolments.withdraw_enrolment(actor_of(make_candidate(factory)), enrolment.id)
    with pytest.raises(PermissionDenied):  # a supervisor of the body reads but does not decide
        services.decide_enrolments(actor_of(world.supervisor, world.org), session.id, [enrolment.id], True)


def test_a_candidate_who_failed_one_component_applies_to_resit_it_alone(world, factory):
    """补考: the practical was failed last time (theory passed), so the candidate may sit the
    practical alone in a new session of the same occupation and level."""
    from exam.scoring.models import Publication, Result

    earlier = published_session(world, code="2025-ELEC5-11")
    failed = enrol(world, factory, earlier, "补考生")
    now = now_utc()
    db.session.add(Publication(org_id=world.org.id, session_id=earlier.id, published_at=now - timedelta(days=30),
                               days=5, appeal_days=5, ends_at=now - timedelta(days=23),
                               appeal_ends_at=now - timedelta(days=23)))
    db.session.add(Result(org_id=world.org.id, session_id=earlier.id, enrolment_id=failed.id,
                          user_id=failed.user_id, components=["theory", "practical"],
                          theory_score=Decimal("78"), practical_score=Decimal("52"),
                          states={"theory": "passed", "practical": "failed"}, passed=False))
    db.session.commit()
    session = published_session(world, code="2026-ELEC5-04")
    candidate = actor_of(failed.user)
    assert enrolments.resit_components_for(failed.user_id, session) == ["practical"]
    enrolment = services.apply_for_session(candidate, session.id, EVIDENCE_LEVEL5, resit=True)
    assert enrolment.components == ["practical"] and enrolment.evidence["resit"] == ["practical"]
    # Someone without a failed component cannot ask for a resit.
    newcomer = make_candidate(factory, "新考生")
    with pytest.raises(ValidationFailed) as refused:
        services.apply_for_session(actor_of(newcomer), session.id, EVIDENCE_LEVEL5, resit=True)
    assert refused.value.problems[0].location == "resit"
