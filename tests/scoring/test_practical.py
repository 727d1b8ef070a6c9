"""Practical score sheets: independence (assignment, recusal, sealed marks, locked sheets),
reconciliation, arbitration and veto items; and the review panel."""
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from exam.core.audit import AuditEvent
from exam.core.errors import Conflict, NotFound, ValidationFailed
from exam.extensions import db
from exam.scoring import services
from exam.scoring.models import ScoreSheet, ScoringSettings, TaskOutcome
from exam.sessions.models import Enrolment

from ..factories import sign_in
from .conftest import add_candidate, build_world, fill, relate, sign_all, t1


def _outcome(enrolment, task="T1", component="practical"):
    return db.session.scalar(select(TaskOutcome).where(TaskOutcome.enrolment_id == enrolment.id,
                                                       TaskOutcome.task_code == task,
                                                       TaskOutcome.component == component))


# --- independence ----------------------------------------------------------------------------

def test_an_assessor_sees_only_their_groups_candidates(world, client):
    other_group = add_candidate(world)
    other_group.practical_group = 2
    db.session.commit()
    listing = services.my_candidates(world.actor(world.assessors[0]), world.session.id, "practical")
    assert [r.enrolment.id for r in listing.rows] == [e.id for e in world.enrolments[:2]]
    with pytest.raises(NotFound):
        services.my_sheet(world.actor(world.assessors[0]), other_group.id, "practical", "T1")
    with pytest.raises(NotFound):
        services.save_draft(world.actor(world.assessors[0]), other_group.id, "practical", "T1", t1(80))
    sign_in(client, world.assessors[0], world.org)
    assert client.get(f"/scoring/enrolments/{other_group.id}/practical/T1").status_code == 404
    assert client.post(f"/scoring/enrolments/{other_group.id}/practical/T1/sign").status_code == 404
    assert client.get(f"/scoring/enrolments/{world.enrolments[0].id}/practical/T1").status_code == 200
    # A panelist is no practical assessor.
    sign_in(client, world.panelists[0], world.org)
    assert client.get(f"/scoring/enrolments/{world.enrolments[0].id}/practical/T1").status_code == 404


def test_an_assessor_never_scores_a_candidate_they_declared_a_relation_with(world, client):
    enrolment, candidate = world.enrolments[0], world.candidates[0]
    relate(world, world.assessors[0], candidate)
    listing = services.my_candidates(world.actor(world.assessors[0]), world.session.id, "practical")
    assert enrolment.id not in [r.enrolment.id for r in listing.rows]
    with pytest.raises(NotFound):
        services.my_sheet(world.actor(world.assessors[0]), enrolment.id, "practical", "T1")
    sign_in(client, world.assessors[0], world.org)
    assert client.get(f"/scoring/enrolments/{enrolment.id}/practical/T1").status_code == 404
    assert client.post(f"/scoring/enrolments/{enrolment.id}/practical/T1/draft",
                       json={"entries": t1(90)}).status_code == 404
    # The rest of the group waits until the candidate is moved to another group.
    with pytest.raises(Conflict):
        services.save_draft(world.actor(world.assessors[1]), enrolment.id, "practical", "T1", t1(80))


def test_nobody_sees_other_marks_before_every_assessor_signed(world, client):
    enrolment = world.enrolments[0]
    first, second, chief = world.group
    services.sign_sheet(world.actor(first), enrolment.id, "practical", "T1", t1(77), note="接线整齐 NOTE-ONE")
    services.save_draft(world.actor(second), enrolment.id, "practical", "T1", t1(66), note="DRAFT-TWO")
    view = services.my_sheet(world.actor(second), enrolment.id, "practical", "T1")
    assert view.sheet.assessor_id == second.id and view.signed_count == 1 and view.outcome is None
    for user in (second, chief):
        sign_in(client, user, world.org)
        html = client.get(f"/scoring/enrolments/{enrolment.id}/practical/T1").get_data(as_text=True)
        assert "NOTE-ONE" not in html and 'value="47"' not in html
    # The chief has nothing to arbitrate and admins see counts only.
    _, open_cases, done = services.arbitration_queue(world.actor(chief), world.session.id)
    assert open_cases == [] and done == []
    _, _, tasks = services.sealed_sheets(world.admin_actor, enrolment.id)
    t1_task = next(t for t in tasks if t.task.code == "T1")
    assert (t1_task.signed_count, t1_task.examiner_count, t1_task.sheets) == (1, 3, [])
    for user in (world.admin, world.supervisor):
        sign_in(client, user, world.org)
        html = client.get(f"/scoring/enrolments/{enrolment.id}/scores").get_data(as_text=True)
        assert "NOTE-ONE" not in html and "DRAFT-TWO" not in html
    services.sign_sheet(world.actor(second), enrolment.id, "practical", "T1", t1(79))
    services.sign_sheet(world.actor(chief), enrolment.id, "practical", "T1", t1(78))
    _, _, tasks = services.sealed_sheets(world.admin_actor, enrolment.id)
    sealed = next(t for t in tasks if t.task.code == "T1")
    assert len(sealed.sheets) == 3 and sealed.outcome.score == D("78.00")


def test_the_audit_log_keeps_the_marks_sealed_until_all_signed_then_records_every_sheet(world):
    enrolment = world.enrolments[0]
    first, second, chief = world.group
    services.sign_sheet(world.actor(first), enrolment.id, "practical", "T1", t1(73), note="NOTE-SEALED")
    services.sign_sheet(world.actor(second), enrolment.id, "practical", "T1", t1(75))
    logged = " ".join(e.data for e in db.session.scalars(select(AuditEvent)))
    assert "NOTE-SEALED" not in logged and "43.00" not in logged  # T1.2 of the first sheet
    services.sign_sheet(world.actor(chief), enrolment.id, "practical", "T1", t1(74))
    signed = {e.actor_user_id: e.details["digest"] for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "sheet.signed"))}
    reconciled = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "practical.reconciled"))
    sheets = reconciled.details["sheets"]
    assert sheets[str(first.id)]["note"] == "NOTE-SEALED"
    assert sheets[str(first.id)]["entries"]["T1.2"]["points"] == "43.00"
    assert {int(uid): sheet["digest"] for uid, sheet in sheets.items()} == signed


def test_a_signed_sheet_is_locked_for_its_assessor(world, client):
    enrolment = world.enrolments[0]
    actor = world.actor(world.assessors[0])
    services.sign_sheet(actor, enrolment.id, "practical", "T1", t1(80))
    with pytest.raises(Conflict):
        services.save_draft(actor, enrolment.id, "practical", "T1", t1(60))
    with pytest.raises(Conflict):
        services.sign_sheet(actor, enrolment.id, "practical", "T1", t1(60))
    sign_in(client, world.assessors[0], world.org)
    response = client.post(f"/scoring/enrolments/{enrolment.id}/practical/T1/draft", json={"entries": t1(60), "seq": 9})
    assert response.status_code == 409
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.assessor_id == world.assessors[0].id))
    db.session.refresh(sheet)
    assert sheet.total == D("80.00") and sheet.status == "signed"


def test_signing_needs_every_item_within_its_maximum(world):
    actor = world.actor(world.assessors[0])
    enrolment = world.enrolments[0]
    with pytest.raises(ValidationFailed) as missing:
        services.sign_sheet(actor, enrolment.id, "practical", "T1", fill({"T1.1": 30}))
    assert {p.location for p in missing.value.problems} == {"T1.2", "T1.3"}
    with pytest.raises(ValidationFailed):
        services.sign_sheet(actor, enrolment.id, "practical", "T1", fill({"T1.1": 31, "T1.2": 50, "T1.3": 20}))
    services.sign_sheet(actor, enrolment.id, "practical", "T1",
                        {"T1.1": {"deduction": "4"}, "T1.2": {"deduction": "0"}, "T1.3": {"points": "18.5"}})
    sheet = db.session.scalar(select(ScoreSheet))
    assert sheet.total == D("94.50")
    assert sheet.entries["T1.1"] == {"points": "26.00", "deduction": "4.00"}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sheet.signed"))
    assert event.actor_user_id == world.assessors[0].id and len(event.details["digest"]) == 64


def test_drafts_ignore_an_older_save_arriving_late(world):
    actor = world.actor(world.assessors[0])
    enrolment = world.enrolments[0]
    services.save_draft(actor, enrolment.id, "practical", "T1", fill({"T1.1": 20}), seq=5)
    services.save_draft(actor, enrolment.id, "practical", "T1", fill({"T1.1": 10}), seq=4)
    sheet = db.session.scalar(select(ScoreSheet))
    assert sheet.entries["T1.1"]["points"] == "20.00" and sheet.client_seq == 5


def test_an_optional_task_is_one_the_candidate_took(world):
    enrolment = world.enrolments[0]
    services.save_draft(world.actor(world.assessors[0]), enrolment.id, "practical", "T2", fill({"T2.1": 70}))
    with pytest.raises(Conflict):
        services.save_draft(world.actor(world.assessors[1]), enrolment.id, "practical", "T3", fill({"T3.1": 70}))
    services.save_draft(world.actor(world.assessors[1]), enrolment.id, "practical", "T2", fill({"T2.1": 72}))
    listing = services.my_candidates(world.actor(world.chief), world.session.id, "practical")
    tasks = {t.task.code: t for t in listing.rows[0].tasks}
    assert tasks["T3"].closed and not tasks["T2"].closed
    with pytest.raises(NotFound):
        services.my_sheet(world.actor(world.assessors[0]), enrolment.id, "practical", "T9")


# --- reconciliation and arbitration ------------------------------------------------------------------

def test_mean_of_the_assessors_when_they_agree(world):
    enrolment = world.enrolments[0]
    sign_all(world, enrolment, "T1", [t1(80), t1(84), t1(82)])
    outcome = _outcome(enrolment)
    assert (outcome.status, outcome.score, outcome.spread, outcome.rule) == ("final", D("82.00"), D("4.00"), "mean")
    assert outcome.totals == {str(u.id): f"{v}.00" for u, v in zip(world.group, (80, 84, 82))}
    assert db.session.scalar(select(func.count(AuditEvent.seq)).where(AuditEvent.action == "practical.reconciled")) == 1


def test_drop_highest_and_lowest_with_five_assessors(app_ctx, frozen_clock):
    world = build_world(group_size=5, candidates=1)
    db.session.add(ScoringSettings(org_id=world.org.id, session_id=world.session.id, practical_rule="trimmed_mean",
                                   spread_threshold=D("30")))
    db.session.commit()
    enrolment = world.enrolments[0]
    group = world.assessors + [world.chief]
    assert len(group) == 5
    sign_all(world, enrolment, "T1", [t1(60), t1(80), t1(82), t1(84), t1(79)], assessors=group)
    outcome = _outcome(enrolment)
    assert outcome.rule == "trimmed_mean" and outcome.score == D("80.33")


def test_a_wide_spread_goes_to_the_chief_who_decides_with_a_reason(world, client):
    enrolment = world.enrolments[0]
    sign_all(world, enrolment, "T1", [t1(60), t1(75), t1(70)])
    outcome = _outcome(enrolment)
    assert outcome.status == "awaiting_arbitration" and outcome.arbitration_reasons == ["spread"]
    assert outcome.score is None and outcome.reconciled_score == D("68.33")
    chief = world.actor(world.chief)
    _, open_cases, _ = services.arbitration_queue(chief, world.session.id)
    assert [c.outcome.id for c in open_cases] == [outcome.id] and len(open_cases[0].sheets) == 3
    with pytest.raises(NotFound):  # only the chief arbitrates
        services.arbitrate(world.actor(world.assessors[0]), outcome.id, "70", {}, "理由")
    with pytest.raises(ValidationFailed):
        services.arbitrate(chief, outcome.id, "70", {}, "  ")
    sign_in(client, world.chief, world.org)
    page = client.get(f"/scoring/sessions/{world.session.id}/arbitration").get_data(as_text=True)
    assert world.assessors[0].real_name in page and "68.33" in page
    response = client.post(f"/scoring/cases/{outcome.id}/arbitrate", data={"score": "72", "reason": "复核录像后确认"})
    assert response.status_code == 302
    db.session.refresh(outcome)
    assert (outcome.status, outcome.score, outcome.arbitrated_by) == ("final", D("72.00"), world.chief.id)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "practical.arbitrated"))
    assert event.details["reason"] == "复核录像后确认" and event.details["reconciled"] == "68.33"
    with pytest.raises(Conflict):
        services.arbitrate(chief, outcome.id, "75", {}, "again")


def test_disagreement_on_a_veto_item_goes_to_the_chief(world):
    enrolment = world.enrolments[0]
    sign_all(world, enrolment, "T1", [t1(85, veto=True), t1(85), t1(86)])
    outcome = _outcome(enrolment)
    assert outcome.arbitration_reasons == ["veto"] and outcome.vetoes_disputed == ["T1.3"]
    with pytest.raises(ValidationFailed):  # the veto must be decided
        services.arbitrate(world.actor(world.chief), outcome.id, "85", {}, "看录像")
    services.arbitrate(world.actor(world.chief), outcome.id, "85.33", {"T1.3": True}, "录像显示擅自通电")
    db.session.refresh(outcome)
    assert outcome.veto is True and outcome.veto_decisions == {"T1.3": True}
    other = world.enrolments[1]
    sign_all(world, other, "T1", [t1(85, veto=True), t1(85), t1(86)])
    denied = _outcome(other)
    services.arbitrate(world.actor(world.chief), denied.id, "85.33", {"T1.3": False}, "并未通电")
    db.session.refresh(denied)
    assert denied.veto is False


def test_a_veto_all_assessors_checked_stands_without_arbitration(world):
    enrolment = world.enrolments[0]
    sign_all(world, enrolment, "T1", [t1(90, veto=True), t1(92, veto=True), t1(91, veto=True)])
    outcome = _outcome(enrolment)
    assert outcome.status == "final" and outcome.veto and outcome.vetoes_agreed == ["T1.3"]


# --- the review panel ---------------------------------------------------------------------------

def test_review_panel_scores_independently_and_the_mean_is_the_score(app_ctx, frozen_clock, client):
    world = build_world(components=("theory", "practical", "review"), level=2)
    enrolment = world.enrolments[0]
    listing = services.my_candidates(world.actor(world.panelists[0]), world.session.id, "review")
    assert [r.enrolment.id for r in listing.rows] == [e.id for e in world.enrolments]
    with pytest.raises(NotFound):  # practical assessors are not on the panel
        services.my_sheet(world.actor(world.assessors[0]), enrolment.id, "review", "REVIEW")
    entries = [fill({"FILE": 30, "DEFENCE": 50}), fill({"FILE": 32, "DEFENCE": 52}), fill({"FILE": 34, "DEFENCE": 54})]
    services.sign_sheet(world.actor(world.panelists[0]), enrolment.id, "review", "REVIEW", entries[0])
    view = services.my_sheet(world.actor(world.panelists[1]), enrolment.id, "review", "REVIEW")
    assert view.sheet is None and view.signed_count == 1 and view.outcome is None
    with pytest.raises(Conflict):
        services.save_draft(world.actor(world.panelists[0]), enrolment.id, "review", "REVIEW", entries[1])
    services.sign_sheet(world.actor(world.panelists[1]), enrolment.id, "review", "REVIEW", entries[1])
    services.sign_sheet(world.actor(world.panelists[2]), enrolment.id, "review", "REVIEW", entries[2])
    outcome = _outcome(enrolment, "REVIEW", "review")
    assert (outcome.status, outcome.score) == ("final", D("84.00"))
    sign_in(client, world.panelists[0], world.org)
    assert client.get(f"/scoring/enrolments/{enrolment.id}/review").status_code == 200
    assert client.get(f"/scoring/sessions/{world.session.id}/review").status_code == 200


def test_a_related_panelist_leaves_the_panel_for_that_candidate(app_ctx, frozen_clock):
    world = build_world(components=("theory", "review"), level=2)
    enrolment = world.enrolments[0]
    relate(world, world.panelists[2], world.candidates[0])
    with pytest.raises(NotFound):
        services.my_sheet(world.actor(world.panelists[2]), enrolment.id, "review", "REVIEW")
    listing = services.my_candidates(world.actor(world.panelists[2]), world.session.id, "review")
    assert enrolment.id not in [r.enrolment.id for r in listing.rows]
    for user in world.panelists[:2]:
        services.sign_sheet(world.actor(user), enrolment.id, "review", "REVIEW", fill({"FILE": 30, "DEFENCE": 40}))
    assert _outcome(enrolment, "REVIEW", "review").score == D("70.00")


def test_another_bodys_staff_get_not_found(world, app_ctx):
    other = build_world(candidates=1)
    enrolment = world.enrolments[0]
    with pytest.raises(NotFound):
        services.my_sheet(other.actor(other.assessors[0]), enrolment.id, "practical", "T1")
    with pytest.raises(NotFound):
        services.my_candidates(other.actor(other.assessors[0]), world.session.id, "practical")
    with pytest.raises(NotFound):
        services.sealed_sheets(other.admin_actor, enrolment.id)
    assert db.session.get(Enrolment, enrolment.id) is not None
