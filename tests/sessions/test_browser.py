"""In a real Chromium: an admin plans and publishes a session with rooms and staff, approves an
application, opens the room's tickets PDF, and a proctor checks the candidate in by typing the
ticket number."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from exam.core.clock import now_utc
from exam.extensions import db
from exam.sessions import services
from exam.sessions.forms import utc_to_local
from exam.sessions.models import Enrolment, ExamSession

from ..factories import PASSWORD
from .conftest import EVIDENCE_LEVEL5, actor_of, make_candidate

pytestmark = pytest.mark.e2e


def local(value) -> str:
    return utc_to_local(value).strftime("%Y-%m-%dT%H:%M")


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(base + "/")


def test_plan_publish_approve_print_and_check_in(page, live_server, world, factory, browser, tmp_path):
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())  # the "cannot be undone" confirmations
    sign_in(page, base, world.admin.username)

    page.goto(base + "/admin/sessions/new")
    now = now_utc()
    page.fill("#name", "电工五级 浏览器批次")
    page.fill("#code", "E2E-ELEC5")
    page.select_option("#occupation_id", str(world.occupation.id))
    page.select_option("#level", "5")
    page.select_option("#blueprint_id", str(world.blueprint.id))
    page.fill("#theory_start_at", local(now + timedelta(days=7)))
    page.select_option("#practical_spec_version_id", str(world.spec_version.id))
    page.fill("#practical_at", local(now + timedelta(days=8)))
    page.fill("#practical_place", "实训楼 201")
    page.fill("#enrolment_closes_at", local(now + timedelta(days=5)))
    page.fill("#rooms-0-name", "第一考场")
    page.fill("#rooms-0-capacity", "30")
    assert "2" in page.locator(".room-need").first.inner_text()  # proctors needed, shown as typed
    for proctor in world.proctors[:2]:
        page.check(f"input[name=rooms-0-proctors][value='{proctor.id}']")
    for assessor in world.assessors[:3]:
        page.select_option(f"#group-{assessor.id}", "1")
    page.check(f"input[name=chief][value='{world.assessors[0].id}']")
    page.check(f"input[name=supervisors][value='{world.supervisor.id}']")
    page.screenshot(path=str(tmp_path / "plan.png"), full_page=True)
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/admin/sessions/*")
    assert "各项规则均已满足" in page.locator(".problems-card").inner_text()
    page.get_by_role("button", name="发布并开始报名").click()
    page.wait_for_selector(".flash-success")
    db.session.rollback()  # end this test's read transaction: see what the server committed
    session = db.session.scalar(select(ExamSession).where(ExamSession.code == "E2E-ELEC5"))
    assert session.status == "published"

    candidate = make_candidate(factory, "浏览器考生")
    enrolment = services.apply_for_session(actor_of(candidate), session.id, EVIDENCE_LEVEL5)
    page.goto(f"{base}/admin/sessions/{session.id}/enrolments")
    page.check(f"input[name=enrolment_id][value='{enrolment.id}']")
    page.get_by_role("button", name="通过所选", exact=True).click()
    page.wait_for_selector(".flash-success")
    assert "审核通过" in page.locator("table.enrolments").inner_text()

    page.goto(f"{base}/admin/sessions/{session.id}")
    page.get_by_role("button", name="为审核通过的考生编排座位").click()
    page.wait_for_selector(".flash-success")
    link = page.get_by_role("link", name="准考证（A4）")
    pdf = page.request.get(base + link.get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    page.get_by_role("button", name="截止报名").click()
    page.wait_for_selector(".flash-success")
    db.session.rollback()
    enrolment = db.session.get(Enrolment, enrolment.id)
    assert enrolment.ticket_no and enrolment.seat_no == 1

    # The proctor, on a phone.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    proctor = phone.new_page()
    try:
        sign_in(proctor, base, world.proctors[0].username)
        proctor.goto(base + "/checkin")
        proctor.get_by_role("link", name="第一考场").click()
        proctor.fill("#code", enrolment.ticket_no)
        proctor.get_by_role("button", name="查找").click()
        card = proctor.locator(".candidate-card")
        assert "浏览器考生" in card.inner_text()
        assert candidate.id_number not in card.inner_text()
        proctor.screenshot(path=str(tmp_path / "checkin.png"), full_page=True)
        proctor.get_by_role("button", name="确认签到").click()
        proctor.wait_for_selector(".flash-success")
        assert "1" in proctor.locator(".progress-count strong").inner_text()
    finally:
        phone.close()
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment.id).checked_in_by == world.proctors[0].id
