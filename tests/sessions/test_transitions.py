"""Session states, one service each, every change audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from exam.core.audit import AuditEvent, verify_chain
from exam.core.errors import Conflict, ValidationFailed
from exam.extensions import db
from exam.sessions import services
from exam.sessions.models import AssessorRelation, Enrolment

from .conftest import enrol, published_session


def session_events(session_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "exam_sessions", AuditEvent.object_id == str(session_id))
        .order_by(AuditEvent.seq)))


def test_the_whole_life_of_a_session_is_audited(world, factory, papers_calls):
    session = published_session(world)
    first = enrol(world, factory, session, "甲")
    second = enrol(world, factory, session, "乙")
    result = services.close_enrolment(world.admin_actor, session.id)
    assert result.session.status == "closed" and result.warnings == []
    assert ("prepare_session_papers", session.id) in papers_calls
    for enrolment in (first, second):  # seated and grouped when enrolment closed
        enrolment = db.session.get(Enrolment, enrolment.id)
        assert enrolment.room_id and enrolment.seat_no and enrolment.practical_group == 1
    assert services.start_session(world.admin_actor, session.id).status == "in_progress"
    assert services.finish_session(world.admin_actor, session.id).status == "finished"
    assert services.mark_results_published(world.admin_actor, session.id).status == "results_published"

    events = session_events(session.id)
    actions = [e.action for e in events]
    assert actions == ["session.created", "session.published", "session.enrolment_closed",
                       "session.started", "session.finished", "session.results_published"]
    assert [(e.details.get("from"), e.details.get("to")) for e in events[1:]] == [
        ("draft", "published"), ("published", "closed"), ("closed", "in_progress"),
        ("in_progress", "finished"), ("finished", "results_published")]
    assert events[2].details["seated"] == 2
    assert all(e.actor_user_id == world.admin.id for e in events)
    assert verify_chain().ok


@pytest.mark.parametrize("service", [services.start_session, services.finish_session,
                                     services.mark_results_published])
def test_states_cannot_be_skipped(world, service):
    session = published_session(world)
    with pytest.raises(Conflict):
        service(world.admin_actor, session.id)


def test_the_session_does_not_start_with_undecided_applications(world, factory):
    session = published_session(world)
    enrol(world, factory, session, "甲")
    enrol(world, factory, session, "乙", approve=False)
    services.close_enrolment(world.admin_actor, session.id)
    with pytest.raises(ValidationFailed) as caught:
        services.start_session(world.admin_actor, session.id)
    assert any("1 applications are still undecided" in str(p) for p in caught.value.problems)
    assert db.session.get(type(session), session.id).status == "closed"


def test_papers_that_cannot_be_prepared_give_a_warning_not_a_failure(world, factory, monkeypatch):
    def prepare(actor, session_id):
        raise Conflict("The bank has too few items.")

    session = published_session(world)
    enrol(world, factory, session)
    monkeypatch.setattr(services, "_papers_service", {"prepare_session_papers": prepare}.get)
    result = services.close_enrolment(world.admin_actor, session.id)
    assert result.session.status == "closed"
    assert result.warnings == ["The papers could not be prepared yet: The bank has too few items."]


def test_results_are_not_published_past_a_recusal_conflict(world, factory):
    session = published_session(world)
    enrolment = enrol(world, factory, session)
    services.close_enrolment(world.admin_actor, session.id)
    services.start_session(world.admin_actor, session.id)
    services.finish_session(world.admin_actor, session.id)
    # A relationship slipped in behind the services' back (e.g. restored from a backup):
    db.session.add(AssessorRelation(org_id=world.org.id, assessor_id=world.assessors[1].id,
                                    candidate_id=enrolment.user_id, kind="relative"))
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        services.mark_results_published(world.admin_actor, session.id)
    assert "declared a relationship" in caught.value.message
    assert db.session.get(type(session), session.id).status == "finished"


def test_a_late_approval_gets_a_seat_and_its_paper(world, factory, papers_calls):
    session = published_session(world)
    enrol(world, factory, session, "甲")
    late = enrol(world, factory, session, "乙", approve=False)
    services.close_enrolment(world.admin_actor, session.id)
    papers_calls.clear()
    services.decide_enrolments(world.admin_actor, session.id, [late.id], True)
    late = db.session.get(Enrolment, late.id)
    assert late.room_id is not None and late.seat_no == 2 and late.practical_group == 1
    assert papers_calls == [("prepare_session_papers", session.id)]
