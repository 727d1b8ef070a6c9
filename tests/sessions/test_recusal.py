"""Recusal (回避): an assessor is never placed with a candidate they declared a relationship with,
whatever the order of declarations, automatic and manual group changes and staff changes."""
from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from exam.core.audit import AuditEvent
from exam.core.errors import Conflict, DomainError, ValidationFailed
from exam.extensions import db
from exam.sessions import recusal, services
from exam.sessions.models import Enrolment

from .conftest import actor_of, enrol, make_user, published_session, session_data


def two_groups(world):
    extra = make_user(world.org, "assessor", real_name="考评员6", qualification_level=2)
    world.assessors.append(extra)
    a = world.assessors
    groups = {a[0].id: 1, a[1].id: 1, a[2].id: 1, a[3].id: 2, a[4].id: 2, a[5].id: 2}
    return groups


def declare(world, assessor, candidate_id, kind="relative"):
    return recusal.declare_relation(actor_of(assessor, world.org), candidate_id, kind, "测试")


def test_declaring_takes_the_candidate_out_of_the_assessors_group(world, factory):
    session = published_session(world)
    enrolment = enrol(world, factory, session, "甲")
    services.close_enrolment(world.admin_actor, session.id)
    enrolment = db.session.get(Enrolment, enrolment.id)
    assert enrolment.practical_group == 1
    declare(world, world.assessors[1], enrolment.user_id, "trainer")
    assert db.session.get(Enrolment, enrolment.id).practical_group is None
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "enrolment.group_cleared_for_recusal"))
    assert event.details == {"group": 1, "assessor_id": world.assessors[1].id}
    assert recusal.violations(session) == []
    with pytest.raises(Conflict):  # declaring the same thing twice
        declare(world, world.assessors[1], enrolment.user_id, "trainer")


def test_moving_a_candidate_into_a_related_group_is_refused(world, factory):
    session = published_session(world, assessor_groups=two_groups(world))
    enrolment = enrol(world, factory, session, "甲")
    declare(world, world.assessors[4], enrolment.user_id)
    with pytest.raises(Conflict) as caught:
        recusal.set_practical_group(world.admin_actor, enrolment.id, 2)
    assert caught.value.message == ("考评员5 declared a relationship with this candidate (Close relative) and "
                                    "assesses group 2: choose another group.")
    assert recusal.set_practical_group(world.admin_actor, enrolment.id, 1).practical_group == 1


def test_approval_is_refused_when_every_group_holds_a_related_assessor(world, factory):
    session = published_session(world, assessor_groups=two_groups(world))
    enrolment = enrol(world, factory, session, "甲", approve=False)
    declare(world, world.assessors[0], enrolment.user_id)
    declare(world, world.assessors[3], enrolment.user_id, "colleague")
    with pytest.raises(ValidationFailed) as caught:
        services.decide_enrolments(world.admin_actor, session.id, [enrolment.id], True)
    assert "related to assessors of every practical group" in str(caught.value.problems[0])
    assert db.session.get(Enrolment, enrolment.id).status == "applied"


def test_an_assessor_cannot_join_a_group_holding_a_related_candidate(world, factory):
    groups = two_groups(world)
    session = published_session(world, assessor_groups=groups)
    enrolment = enrol(world, factory, session, "甲")
    recusal.set_practical_group(world.admin_actor, enrolment.id, 1)
    declare(world, world.assessors[4], enrolment.user_id)
    swapped = dict(groups)
    swapped[world.assessors[4].id], swapped[world.assessors[1].id] = 1, 2
    with pytest.raises(ValidationFailed) as caught:
        services.update_session(world.admin_actor, session.id, session_data(world, assessor_groups=swapped))
    assert any("考评员5 declared a relationship with 甲" in str(p) for p in caught.value.problems)


def test_functions_for_scoring(world, factory):
    session = published_session(world, assessor_groups=two_groups(world))
    related = enrol(world, factory, session, "甲")
    other = enrol(world, factory, session, "乙")
    declare(world, world.assessors[0], related.user_id)
    services.close_enrolment(world.admin_actor, session.id)
    related = db.session.get(Enrolment, related.id)
    assert related.practical_group == 2
    assert recusal.related_pairs(session.id) == {(world.assessors[0].id, related.id)}
    assert {u.id for u in services.assessors_for_enrolment(related.id)} == {a.id for a in world.assessors[3:6]}
    groups = services.practical_groups(session.id)
    assert [g.group_no for g in groups] == [1, 2]
    assert groups[0].chief_id == world.assessors[0].id
    assert sorted(e for g in groups for e in g.enrolment_ids) == sorted([related.id, other.id])


def test_people_an_assessor_may_declare(world, factory):
    session = published_session(world)
    enrolment = enrol(world, factory, session, "张三丰")
    stranger = make_user(None, real_name="张三丰", id_type="resident_id", id_number="110105199001011237")
    actor = actor_of(world.assessors[0], world.org)
    assert [u.id for u in recusal.find_people(actor, "张三")] == [enrolment.user_id]  # the body's candidates
    assert [u.id for u in recusal.find_people(actor, "110105199001011237")] == [stranger.id]  # full number
    assert recusal.find_people(actor, "张") == []


@pytest.mark.parametrize("seed", range(6))
def test_recusal_holds_under_any_sequence_of_changes(world, factory, seed):
    """Random declarations, approvals, automatic and manual placements and staff moves: after
    every step no candidate shares a group with a related assessor."""
    rng = random.Random(seed)
    groups = two_groups(world)
    session = published_session(world, assessor_groups=groups)
    enrolments = [enrol(world, factory, session, f"考生{i}", approve=rng.random() < 0.5) for i in range(10)]
    assessors = world.assessors
    declared = set()
    for step in range(50):
        action = rng.choice(["declare", "declare", "approve", "auto", "move", "staff"])
        enrolment = rng.choice(enrolments)
        try:
            if action == "declare":
                assessor = rng.choice(assessors)
                if (assessor.id, enrolment.user_id) not in declared:
                    declare(world, assessor, enrolment.user_id, rng.choice(["relative", "colleague"]))
                    declared.add((assessor.id, enrolment.user_id))
            elif action == "approve":
                services.decide_enrolments(world.admin_actor, session.id, [enrolment.id], True)
            elif action == "auto":
                recusal.assign_groups(world.admin_actor, session.id)
            elif action == "move":
                recusal.set_practical_group(world.admin_actor, enrolment.id, rng.choice([1, 2]))
            else:
                ids = [a.id for a in assessors]
                rng.shuffle(ids)
                groups = {user_id: 1 if i < 3 else 2 for i, user_id in enumerate(ids)}
                services.update_session(world.admin_actor, session.id,
                                        session_data(world, assessor_groups=groups,
                                                     chief_assessor_id=ids[0]))
        except DomainError:
            db.session.rollback()  # refused: fine, as long as nothing was broken
        db.session.expire_all()
        assert recusal.violations(session) == [], f"step {step}: {action}"
        for assessor_id, enrolment_id in recusal.related_pairs(session.id):
            placed = db.session.get(Enrolment, enrolment_id)
            if placed.practical_group is not None and placed.status == "approved":
                assert assessor_id not in {u.id for u in recusal.assessors_for_enrolment(enrolment_id)}
