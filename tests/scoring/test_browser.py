"""In a real Chromium on a tablet (820×1180): three assessors score a candidate's practical task,
the spread sends it to the chief assessor, who decides; a veto fails another candidate's
practical; the admin publishes the results; a candidate asks for a recheck, the admin answers
it and the candidate reads the answer. And the sheet keeps working on a weak connection."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from exam.extensions import db
from exam.scoring import services
from exam.scoring.models import Appeal, Publication, Result, ScoreSheet, TaskOutcome

from ..factories import PASSWORD
from .conftest import build_world, fill, right_answers, sign_all, sit, t1

pytestmark = pytest.mark.e2e
TABLET = {"width": 820, "height": 1180}


@pytest.fixture
def live_world(app_ctx):
    return build_world()


@pytest.fixture
def tablet(browser, live_server, app):
    context = browser.new_context(viewport=TABLET, locale="zh-CN", has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the sign / publish confirmations
    yield page
    context.close()


def sign_in(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(base + "/login")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(base + "/")


def score_t1(page, base: str, enrolment_id: int, deductions: dict[str, str], *, veto: bool = False) -> None:
    """Fill T1's sheet on the tablet: type some deductions, tap − and + for another, sign."""
    page.goto(f"{base}/scoring/enrolments/{enrolment_id}/practical/T1")
    for code, value in deductions.items():
        page.fill(f"input[name='deduction-{code}']", value)
    item = page.locator(".sheet-item[data-code='T1.3']")
    item.locator("button.step[data-step='1']").tap()
    item.locator("button.step[data-step='1']").tap()
    item.locator("button.step[data-step='-1']").tap()  # deduct 1 on T1.3
    if veto:
        page.locator("label.veto-toggle").tap()
    page.wait_for_selector("#sheet-status[data-state='saved']")
    page.get_by_role("button", name="签名确认").click()
    page.wait_for_selector(".flash-success")


def test_practical_arbitration_veto_publication_and_appeal(tablet, live_server, live_world, tmp_path):
    page, base, world = tablet, live_server.url, live_world
    first, second = world.enrolments
    for enrolment in world.enrolments:
        answers = right_answers(world, enrolment)
        answers.pop(5)
        services.score_attempt(sit(world, enrolment, answers).id)
        sign_all(world, enrolment, "T2", [fill({"T2.1": 80})] * 3)

    # Three assessors score the first candidate's T1; totals 59, 74 and 69: a spread of 15.
    plans = [{"T1.1": "10", "T1.2": "30"}, {"T1.1": "5", "T1.2": "20"}, {"T1.1": "5", "T1.2": "25"}]
    for user, plan in zip(world.group, plans):
        sign_in(page, base, user.username)
        page.goto(f"{base}/scoring/sessions/{world.session.id}/practical")
        page.locator(f"a.task-button[href$='/enrolments/{first.id}/practical/T1']").tap()
        page.wait_for_url(f"**/enrolments/{first.id}/practical/T1")
        if user is world.group[0]:
            page.fill("input[name='deduction-T1.1']", "10")
            assert page.locator(".sheet-item[data-code='T1.1'] [data-points]").inner_text() == "20"
            page.screenshot(path=str(tmp_path / "sheet.png"), full_page=True)
        score_t1(page, base, first.id, plan)
    db.session.rollback()
    outcome = db.session.scalar(select(TaskOutcome).where(TaskOutcome.enrolment_id == first.id,
                                                          TaskOutcome.task_code == "T1"))
    assert outcome.status == "awaiting_arbitration" and outcome.spread == 15

    # The chief sees the three sheets side by side and decides, with a reason.
    sign_in(page, base, world.chief.username)
    page.goto(f"{base}/scoring")
    page.get_by_role("link", name=re.compile("组长裁定")).tap()
    case = page.locator(f"#case-{outcome.id}")
    for user in world.group:
        assert user.real_name in case.locator("table").inner_text()
    case.locator("input[name=score]").fill("70")
    case.locator("textarea[name=reason]").fill("查看录像后，布线扣分以第三位考评员为准。")
    page.screenshot(path=str(tmp_path / "arbitration.png"), full_page=True)
    case.get_by_role("button", name="提交裁定").click()
    page.wait_for_selector(".flash-success")
    db.session.rollback()
    db.session.refresh(outcome)
    assert outcome.status == "final" and outcome.score == 70

    # The second candidate: all three assessors saw the safety breach (★).
    sign_in(page, base, world.assessors[0].username)
    score_t1(page, base, second.id, {"T1.1": "0", "T1.2": "0"}, veto=True)
    db.session.rollback()
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.enrolment_id == second.id,
                                                       ScoreSheet.task_code == "T1"))
    assert sheet.entries["T1.3"]["veto"] is True and sheet.total == 99
    sign_all(world, second, "T1", [t1(98, veto=True), t1(97, veto=True)], assessors=world.group[1:])

    # The admin computes and publishes; the veto failed the second candidate's practical.
    sign_in(page, base, world.admin.username)
    page.goto(f"{base}/scoring/sessions/{world.session.id}/results")
    page.get_by_role("button", name="计算成绩").click()
    page.wait_for_selector(".flash-success")
    table = page.locator("table.results-table").inner_text()
    assert world.candidates[1].real_name in table and "★" in table
    page.get_by_role("button", name="公示", exact=True).click()
    page.wait_for_selector(".flash-success")
    page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
    db.session.rollback()
    assert db.session.scalar(select(Publication)) is not None
    vetoed = db.session.scalar(select(Result).where(Result.enrolment_id == second.id))
    assert vetoed.practical_veto and vetoed.states["practical"] == "failed" and vetoed.passed is False

    # The second candidate asks for a recheck.
    sign_in(page, base, world.candidates[1].username)
    page.goto(f"{base}/scoring/my-results")
    assert "不合格" in page.locator(".my-result").inner_text()
    page.locator(".appeal-box summary").tap()
    page.check(f"#c-{vetoed.id}-practical")
    page.fill(f"#reason-{vetoed.id}", "我没有擅自通电，请查看录像。")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_selector(".flash-success")

    # The admin rechecks and answers; the candidate reads the answer.
    sign_in(page, base, world.admin.username)
    page.goto(f"{base}/scoring/appeals")
    page.get_by_role("link", name=re.compile(r"\d{4}-\d{2}-\d{2}")).first.click()
    page.fill("#answer", "经复核录像，三名考评员均认定擅自通电，否决项成立，成绩不变。")
    page.get_by_role("button", name="提交答复").click()
    page.wait_for_selector(".flash-success")
    db.session.rollback()
    assert db.session.scalar(select(Appeal)).status == "answered"
    sign_in(page, base, world.candidates[1].username)
    page.goto(f"{base}/scoring/my-results")
    assert "否决项成立，成绩不变" in page.locator(".appeal-answer-box").inner_text()
    page.screenshot(path=str(tmp_path / "my-results.png"), full_page=True)


def test_the_sheet_keeps_a_local_draft_and_saves_when_the_connection_returns(tablet, live_server, live_world):
    page, base, world = tablet, live_server.url, live_world
    enrolment = world.enrolments[0]
    sign_in(page, base, world.assessors[0].username)
    url = f"{base}/scoring/enrolments/{enrolment.id}/practical/T1"
    page.goto(url)
    page.route("**/draft", lambda route: route.abort("internetdisconnected"))
    page.fill("input[name='deduction-T1.1']", "4")
    page.fill("input[name='deduction-T1.2']", "10")
    assert page.locator("#sheet-total").inner_text() == "66"  # 26 + 40, as typed
    page.wait_for_selector("#sheet-status[data-state='offline']")
    page.reload()  # the page comes back with what was typed, from the device
    assert page.locator("input[name='deduction-T1.2']").input_value() == "10"
    assert page.locator("#sheet-status").get_attribute("data-state") in ("local", "saving", "offline")
    page.unroute("**/draft")
    page.wait_for_selector("#sheet-status[data-state='saved']", timeout=20_000)
    db.session.rollback()
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.enrolment_id == enrolment.id,
                                                       ScoreSheet.task_code == "T1"))
    assert sheet.entries["T1.2"]["points"] == "40.00" and sheet.status == "draft"
