"""Appeals (复核): within the window, once, answered by an admin; corrections recompute the
result and are audited; the candidate reads the answer."""
from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from exam.core.audit import AuditEvent, verify_chain
from exam.core.errors import Conflict, Gone, NotFound, PermissionDenied, ValidationFailed
from exam.extensions import db
from exam.scoring import services
from exam.scoring.models import Appeal, Result

from ..factories import sign_in
from .conftest import build_world
from .test_results import finish, result_of


@pytest.fixture
def published(world, frozen_clock):
    good, weak = world.enrolments
    finish(world, good)
    finish(world, weak, theory=False)
    services.publish_results(world.admin_actor, world.session.id)
    return world


def test_no_appeal_before_publication(world, frozen_clock):
    finish(world, world.enrolments[0])
    finish(world, world.enrolments[1])
    services.compute_results(world.admin_actor, world.session.id)
    result = result_of(world.enrolments[0])
    with pytest.raises(NotFound):
        services.file_appeal(world.actor(world.candidates[0]), result.id, "请复核")
    assert services.my_results(world.actor(world.candidates[0])) == []


def test_appeal_within_the_window_and_not_after(published, frozen_clock):
    world = published
    weak = result_of(world.enrolments[1])
    frozen_clock.advance(timedelta(days=8))  # past Monday 9 March: the 5 working days are over
    with pytest.raises(Gone):
        services.file_appeal(world.actor(world.candidates[1]), weak.id, "请复核理论成绩")
    assert db.session.scalar(select(Appeal)) is None


def test_appeal_on_the_last_day_is_accepted_once(published, frozen_clock):
    world = published
    weak = result_of(world.enrolments[1])
    frozen_clock.advance(timedelta(days=7, hours=14))  # Monday 9 March, 23:00 Beijing
    appeal = services.file_appeal(world.actor(world.candidates[1]), weak.id, "理论考试我答对的题更多", ["theory"])
    assert appeal.status == "open" and appeal.components == ["theory"]
    with pytest.raises(Conflict):
        services.file_appeal(world.actor(world.candidates[1]), weak.id, "再次申请")
    with pytest.raises(NotFound):  # someone else's result
        services.file_appeal(world.actor(world.candidates[0]), weak.id, "不是我的")
    with pytest.raises(ValidationFailed):
        services.file_appeal(world.actor(world.candidates[0]), result_of(world.enrolments[0]).id, "   ")


def test_a_correction_recomputes_the_result_and_is_audited(published):
    world = published
    weak = result_of(world.enrolments[1])
    assert weak.passed is False and weak.theory_score == D("0.00")
    appeal = services.file_appeal(world.actor(world.candidates[1]), weak.id, "合分有误")
    with pytest.raises(PermissionDenied):
        services.answer_appeal(world.actor(world.supervisor), appeal.id, checks={}, answer="x")
    with pytest.raises(ValidationFailed):
        services.answer_appeal(world.admin_actor, appeal.id, checks={}, answer="", corrections={"theory": "61"})
    with pytest.raises(ValidationFailed):
        services.answer_appeal(world.admin_actor, appeal.id, checks={}, answer="改", corrections={"theory": "101"})
    services.answer_appeal(world.admin_actor, appeal.id, checks={"addition": True},
                           answer="经复核，合分有误，理论成绩更正为 61 分。", corrections={"theory": "61"})
    db.session.expire_all()
    result = db.session.get(Result, weak.id)
    assert result.theory_score == D("61.00") and result.states["theory"] == "passed" and result.passed is True
    assert result.corrections["theory"]["from"] == "0.00"
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.outcome == "corrected" and appeal.checks["addition"] and not appeal.checks["transcription"]
    corrected = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "result.corrected"))
    assert corrected.details["corrections"] == {"theory": {"from": "0.00", "to": "61.00"}}
    assert corrected.details["reason"].startswith("经复核") and corrected.actor_user_id == world.admin.id
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "appeal.answered")) is not None
    with pytest.raises(Conflict):
        services.answer_appeal(world.admin_actor, appeal.id, checks={}, answer="again")
    mine = services.my_results(world.actor(world.candidates[1]))
    assert mine[0].appeal.answer.startswith("经复核") and mine[0].result.passed is True
    assert verify_chain().ok


def test_an_answer_without_correction_keeps_the_result(published):
    world = published
    weak = result_of(world.enrolments[1])
    appeal = services.file_appeal(world.actor(world.candidates[1]), weak.id, "请复核")
    services.answer_appeal(world.admin_actor, appeal.id, checks={"missed_items": False}, answer="经复核无误。",
                           corrections={"theory": "0.00"})
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).outcome == "unchanged"
    assert db.session.get(Result, weak.id).passed is False
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "result.corrected")) is None


def test_appeals_of_another_body_are_not_found(published, app_ctx):
    world = published
    appeal = services.file_appeal(world.actor(world.candidates[1]), result_of(world.enrolments[1]).id, "请复核")
    other = build_world(candidates=1)
    with pytest.raises(NotFound):
        services.get_appeal(other.admin_actor, appeal.id)
    with pytest.raises(NotFound):
        services.answer_appeal(other.admin_actor, appeal.id, checks={}, answer="x")
    assert services.appeals_queue(other.admin_actor, other.org.id) == []
    assert [r.appeal.id for r in services.appeals_queue(world.admin_actor, world.org.id)] == [appeal.id]


def test_candidate_files_and_reads_the_answer_through_the_pages(published, client):
    world = published
    weak = result_of(world.enrolments[1])
    sign_in(client, world.candidates[1], world.org)
    page = client.get("/scoring/my-results").get_data(as_text=True)
    assert f"/scoring/my-results/{weak.id}/appeal" in page
    response = client.post(f"/scoring/my-results/{weak.id}/appeal",
                           data={"reason": "判断题答案有争议", "components": ["theory"]})
    assert response.status_code == 302
    appeal = db.session.scalar(select(Appeal))
    sign_in(client, world.admin, world.org)
    assert "判断题答案有争议" in client.get("/scoring/appeals").get_data(as_text=True)
    answered = client.post(f"/scoring/appeals/{appeal.id}/answer",
                           data={"answer": "已复核：判断题评分无误。", "transcription": "y"})
    assert answered.status_code == 302
    sign_in(client, world.candidates[1], world.org)
    assert "已复核：判断题评分无误。" in client.get("/scoring/my-results").get_data(as_text=True)
    # Another candidate cannot appeal this result.
    sign_in(client, world.candidates[0], world.org)
    assert client.post(f"/scoring/my-results/{weak.id}/appeal", data={"reason": "x"}).status_code == 404
