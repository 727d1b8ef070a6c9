"""The rules checked before a session is published, each refused with its message; and the
re-check with real numbers when enrolment closes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from exam.accounts import services as accounts
from exam.core.audit import AuditEvent
from exam.core.clock import now_utc
from exam.core.errors import Conflict, ValidationFailed
from exam.extensions import db
from exam.papers.models import Blueprint
from exam.sessions import services
from exam.sessions.models import ExamSession

from .conftest import (actor_of, enrol, make_bank_and_blueprint, make_occupation, make_user,
                       published_session, session_data)


def publish_problems(world, **overrides) -> list[str]:
    session = services.create_session(world.admin_actor, world.org.id, session_data(world, **overrides))
    with pytest.raises(ValidationFailed) as caught:
        services.publish_session(world.admin_actor, session.id)
    assert caught.value.message.startswith("The session cannot be published yet")
    db.session.expire_all()
    assert db.session.get(ExamSession, session.id).status == "draft"
    return [str(p) for p in caught.value.problems]


def only(problems: list[str], text: str) -> str:
    found = [p for p in problems if text in p]
    assert found, f"no problem mentions {text!r}: {problems}"
    return found[0]


def test_a_plan_that_meets_every_rule_is_published_and_its_blueprint_locked(world, papers_calls):
    session = published_session(world)
    assert session.status == "published"
    assert session.theory_duration_minutes == 90  # from the blueprint
    assert ("lock_blueprint", world.blueprint.id) in papers_calls
    assert db.session.get(Blueprint, world.blueprint.id).status == "locked"


def test_proctors_one_per_fifteen_and_two_per_room(world):
    p = world.proctors
    problems = publish_problems(world, rooms=[
        services.RoomData(name="大考场", capacity=31, proctor_ids=[p[0].id, p[1].id]),
        services.RoomData(name="小考场", capacity=10, proctor_ids=[p[2].id])])
    assert only(problems, "大考场") == ("Rooms and proctors: Room 大考场 holds 31 candidates: it needs at least 3 "
                                       "proctors (1 per 15 candidates, at least 2 per room); 2 assigned.")
    assert "it needs at least 2 proctors" in only(problems, "小考场")


def test_practical_groups_need_three_and_an_odd_number(world):
    a = world.assessors
    problems = publish_problems(world, assessor_groups={a[0].id: 1, a[1].id: 1, a[2].id: 2, a[3].id: 2,
                                                        a[4].id: 2})
    assert "Practical group 1 has 2 assessors: a group needs at least 3, and an odd number" in \
        only(problems, "group 1")
    assert not [p for p in problems if "group 2" in p]
    problems = publish_problems(world, code="EVEN", assessor_groups={x.id: 1 for x in a[:4]})
    assert "Practical group 1 has 4 assessors" in only(problems, "group 1")


def test_assessor_qualification(world, factory):
    low = make_user(world.org, "assessor", real_name="四级考评员", qualification_level=4)
    unknown = make_user(world.org, "assessor", real_name="未登记考评员")
    a = world.assessors
    problems = publish_problems(world, assessor_groups={a[0].id: 1, low.id: 1, unknown.id: 1})
    assert "四级考评员 holds Level 4 / intermediate: assessors need level 3 or higher." in \
        only(problems, "四级考评员")
    assert "has no recorded skill level" in only(problems, "未登记考评员")


def test_assessors_may_not_hold_a_lower_level_than_the_session(world, factory):
    org, occupation = world.org, world.occupation
    _, blueprint = make_bank_and_blueprint(org, occupation, level=2)
    from .conftest import make_spec_version

    version = make_spec_version(org, occupation, level=2)
    senior = [make_user(org, "assessor", real_name=f"技师考评员{i}", qualification_level=2) for i in range(3)]
    db.session.commit()
    problems = publish_problems(world, level=2, blueprint_id=blueprint.id, practical_spec_version_id=version.id,
                                components=["theory", "practical"],
                                assessor_groups={senior[0].id: 1, senior[1].id: 1, world.assessors[0].id: 1},
                                chief_assessor_id=senior[0].id)
    assert "考评员1 holds Level 3 / advanced, lower than this Level 2 / technician session." in \
        only(problems, "考评员1 holds")


def test_theory_needs_a_ready_blueprint_of_this_occupation_and_level(world):
    problems = publish_problems(world, blueprint_id=None)
    assert "Choose the paper plan (blueprint) of the theory exam." in only(problems, "paper plan")
    world.blueprint.status = "draft"
    db.session.commit()
    problems = publish_problems(world, code="DRAFT-BP")
    assert "must be validated (ready) first" in only(problems, "paper plan")
    welder = make_occupation("6-18-02-04", "焊工")
    _, other = make_bank_and_blueprint(world.org, welder)
    db.session.commit()
    problems = publish_problems(world, code="WELD-BP", blueprint_id=other.id)
    assert "is for another occupation or level" in only(problems, "paper plan")


def test_practical_needs_a_spec_a_date_and_a_chief(world):
    problems = publish_problems(world, practical_spec_version_id=None, practical_at=None, chief_assessor_id=None)
    only(problems, "Choose the practical task specification.")
    only(problems, "Set the date and place of the practical assessment.")
    only(problems, "Name one chief assessor.")


def test_review_only_for_levels_two_and_one(world):
    problems = publish_problems(world, components=["theory", "review"])
    only(problems, "A comprehensive review is held only for levels 2 and 1.")
    only(problems, "The review panel has 0 members")


def test_every_exam_is_supervised(world):
    problems = publish_problems(world, supervisor_ids=[])
    assert "Supervision: Assign at least one supervisor" in only(problems, "supervisor")


def test_rooms_and_times(world):
    problems = publish_problems(world, rooms=[])
    only(problems, "Add at least one exam room.")
    problems = publish_problems(world, code="LATE", enrolment_closes_at=now_utc() - timedelta(hours=1),
                                enrolment_opens_at=now_utc() - timedelta(days=2))
    only(problems, "The enrolment period has already ended")
    problems = publish_problems(world, code="AFTER", enrolment_closes_at=now_utc() + timedelta(days=9))
    only(problems, "Enrolment must close before the first exam begins.")
    start = now_utc() + timedelta(days=7)
    problems = publish_problems(world, code="HARD", theory_hard_end_at=start + timedelta(minutes=60))
    only(problems, "The hard end must not be earlier than the start plus the duration (90 minutes).")


def test_bad_networks_and_double_booked_proctors_are_refused_when_saving(world):
    p = world.proctors
    data = session_data(world, rooms=[
        services.RoomData(name="A", capacity=20, ip_allowlist="10.0.0.5/24", proctor_ids=[p[0].id, p[1].id]),
        services.RoomData(name="B", capacity=20, proctor_ids=[p[1].id, p[2].id])])
    with pytest.raises(ValidationFailed) as caught:
        services.create_session(world.admin_actor, world.org.id, data)
    messages = [str(problem) for problem in caught.value.problems]
    assert any("did you mean 10.0.0.0/24" in m for m in messages)
    assert any("cannot watch two rooms (A and B)" in m for m in messages)
    assert db.session.scalar(select(ExamSession.id)) is None


def test_a_failing_blueprint_lock_refuses_publishing(world, monkeypatch):
    def refuse(actor, blueprint_id):
        raise ValidationFailed("The blueprint cannot be used yet: the bank cannot satisfy it.",
                               problems=[])
    monkeypatch.setattr(services, "_papers_service", {"lock_blueprint": refuse}.get)
    problems = publish_problems(world)
    only(problems, "the bank cannot satisfy it")
    assert db.session.get(Blueprint, world.blueprint.id).status == "ready"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session.published")) is None


def test_without_the_papers_service_the_blueprint_is_locked_here(world, monkeypatch):
    monkeypatch.setattr(services, "_papers_service", lambda name: None)
    published_session(world)
    assert db.session.get(Blueprint, world.blueprint.id).status == "locked"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "blueprint.locked")) is not None


def test_a_published_plan_cannot_be_changed_into_breaking_the_rules(world):
    session = published_session(world)
    data = session_data(world, supervisor_ids=[])
    with pytest.raises(ValidationFailed) as caught:
        services.update_session(world.admin_actor, session.id, data)
    assert any("supervisor" in str(p) for p in caught.value.problems)
    data = session_data(world, level=4)
    with pytest.raises(ValidationFailed) as caught:
        services.update_session(world.admin_actor, session.id, data)
    assert [p.location for p in caught.value.problems] == ["level"]
    db.session.expire_all()
    assert len(db.session.get(ExamSession, session.id).staff) == 7  # unchanged


def test_closing_checks_again_with_the_real_numbers(world, factory, papers_calls):
    session = published_session(world)
    enrol(world, factory, session, "甲")
    enrol(world, factory, session, "乙")
    # One of the room's two proctors loses the role: the room is short now.
    accounts.set_roles(world.admin_actor, world.org.id, world.proctors[1].id, [])
    with pytest.raises(ValidationFailed) as caught:
        services.close_enrolment(world.admin_actor, session.id)
    messages = [str(p) for p in caught.value.problems]
    assert any("Room 第一考场 has 2 candidates: it needs at least 2 proctors" in m for m in messages)
    assert any("no longer holds the role" in m for m in messages)
    db.session.expire_all()
    assert db.session.get(ExamSession, session.id).status == "published"
    assert ("prepare_session_papers", session.id) not in papers_calls


def test_publishing_twice_is_a_conflict(world):
    session = published_session(world)
    with pytest.raises(Conflict):
        services.publish_session(world.admin_actor, session.id)


def test_only_admins_plan_sessions(world):
    with pytest.raises(Exception) as caught:
        services.create_session(actor_of(world.supervisor, world.org), world.org.id, session_data(world))
    assert caught.value.__class__.__name__ == "PermissionDenied"
