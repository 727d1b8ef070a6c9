"""The exam page in a real Chromium against the live server (same process: the tests move the
server's clock with ``clock.advance`` while time keeps running, and read the database)."""
from __future__ import annotations

import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from exam.core import clock
from exam.delivery.models import Attempt, Response
from exam.extensions import db

from .builders import PASSWORD, build_exam

pytestmark = pytest.mark.e2e

TABLET = {"width": 820, "height": 1180}


@pytest.fixture
def exam(app_ctx):
    """An exam that opened a minute ago (the real, running clock), hand-in allowed at once."""
    return build_exam(clock.now_utc() - timedelta(minutes=1), candidates=2, earliest_handin=0)


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go (``EXAM_SCREENSHOTS`` to keep them)."""
    folder = Path(os.environ.get("EXAM_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def start(page, base: str, world, index: int = 0) -> int:
    sign_in(page, base, f"cand-{world.code}-{index}")
    page.goto(f"{base}/exam/enrolments/{world.enrolments[index].id}")
    page.check("#pledge")
    page.get_by_role("button", name=re.compile("Start the exam|开始考试")).click()
    page.wait_for_url(re.compile(r".*/exam/attempts/\d+$"))
    page.wait_for_selector("#save-state[data-state=saved]")
    return int(page.url.rsplit("/", 1)[1])


def seconds_left(page) -> int:
    parts = [int(p) for p in page.locator("#timer").inner_text().split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def stored(attempt_id: int) -> dict:
    db.session.rollback()
    rows = db.session.execute(select(Response.position, Response.answer, Response.flagged)
                              .where(Response.attempt_id == attempt_id))
    return {p: (a, f) for p, a, f in rows}


def attempt(attempt_id: int) -> Attempt:
    db.session.rollback()
    return db.session.get(Attempt, attempt_id, populate_existing=True)


def wait_saved(page):
    page.wait_for_selector("#save-state[data-state=saved]", timeout=10_000)


def wait_stored(attempt_id: int, positions: set[int], timeout: float = 10) -> dict:
    """The attempt's stored responses once every position in ``positions`` is there (the page
    may show "saved" for earlier changes while the last one is still on its way)."""
    deadline = time.monotonic() + timeout
    while True:
        saved = stored(attempt_id)
        if positions <= set(saved) or time.monotonic() > deadline:
            return saved
        time.sleep(0.1)


def item(page, position: int):
    return page.locator(f"#q{position}")


def test_answers_and_the_time_survive_a_reload(page, live_server, exam, shots):
    attempt_id = start(page, live_server.url, exam)
    # Single choice by click, the next by keyboard (→ then B), a flag (M), blanks, a short answer.
    item(page, 0).locator(".opt").nth(1).click()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("b")
    page.keyboard.press("m")
    page.locator("[data-go='7']").click()
    blanks = item(page, 7).locator(".blank")
    blanks.nth(0).fill("安培")
    blanks.nth(1).fill("伏特")
    page.locator("[data-go='8']").click()
    item(page, 8).locator("textarea").fill("互锁防止两个接触器同时吸合。")
    page.locator("#next").focus()  # leaving the text field saves it at once
    wait_saved(page)
    page.screenshot(path=str(shots / "exam-desktop.png"))
    saved = wait_stored(attempt_id, {0, 1, 7, 8})
    assert saved[0][0] in "ABCD" and saved[1] == ("B", True)
    assert saved[7][0] == ["安培", "伏特"] and saved[8][0].startswith("互锁")
    left, at = seconds_left(page), time.monotonic()
    page.reload()
    wait_saved(page)
    assert abs(seconds_left(page) - (left - (time.monotonic() - at))) <= 2
    assert item(page, 8).is_visible()  # the same question is shown again
    assert item(page, 8).locator("textarea").input_value().startswith("互锁")
    page.locator("[data-go='1']").click()
    assert item(page, 1).locator("input[value=B]").is_checked()
    assert item(page, 1).locator("[data-flag]").is_checked()
    assert page.locator("[data-go='1']").get_attribute("class").split() == ["qbtn", "answered", "flagged"]
    page.set_viewport_size(TABLET)
    page.screenshot(path=str(shots / "exam-tablet.png"))
    page.locator("#sheet-toggle").click()
    assert page.locator("#sheet").is_visible()
    page.screenshot(path=str(shots / "exam-tablet-sheet.png"))


def test_answers_given_offline_arrive_when_the_connection_returns(page, live_server, exam):
    attempt_id = start(page, live_server.url, exam)
    page.context.set_offline(True)
    item(page, 0).locator(".opt").nth(2).click()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("d")
    page.wait_for_selector("#save-state[data-state=offline]", timeout=10_000)
    assert "2" in page.locator("#save-state").inner_text()
    assert stored(attempt_id) == {}
    # The queue is in localStorage: it survives even a reload while offline… (not tried here:
    # an offline reload cannot load the page), and is sent when the connection returns.
    page.context.set_offline(False)
    wait_saved(page)
    saved = stored(attempt_id)
    assert set(saved) == {0, 1} and saved[1] == ("D", False)


def test_a_short_exam_runs_out_and_is_handed_in_with_the_saved_answers(page, live_server, exam):
    attempt_id = start(page, live_server.url, exam)
    clock.advance(timedelta(minutes=60) - timedelta(seconds=10))  # 10 seconds left on the server
    item(page, 0).locator(".opt").first.click()  # the save brings the true time back
    wait_saved(page)
    assert seconds_left(page) <= 11
    page.wait_for_url(re.compile(r".*/done$"), timeout=30_000)
    finished = attempt(attempt_id)
    assert finished.status == "submitted" and finished.ended_by == "timer"
    assert set(stored(attempt_id)) == {0}
    assert page.evaluate(f"localStorage.getItem('skillcert.exam.{attempt_id}')") is None


def test_a_second_browser_takes_over_and_the_first_stops(browser, page, live_server, exam, shots):
    attempt_id = start(page, live_server.url, exam)
    item(page, 0).locator(".opt").first.click()
    wait_saved(page)
    other = browser.new_context(viewport=TABLET, locale="zh-CN")
    second = other.new_page()
    try:
        sign_in(second, live_server.url, f"cand-{exam.code}-0")
        second.goto(f"{live_server.url}/exam/attempts/{attempt_id}")
        second.wait_for_selector("#device-dialog:not(.hidden)")
        second.screenshot(path=str(shots / "takeover-tablet.png"))
        second.locator("#device-confirm").click()
        second.wait_for_selector("#device-dialog", state="hidden")
        assert attempt(attempt_id).device_epoch == 2
        page.keyboard.press("ArrowRight")
        item(page, 1).locator(".opt").first.click()  # the first browser tries to save
        page.wait_for_selector("#stop-dialog:not(.hidden)")
        assert page.locator("#stop-message").inner_text()
        assert page.locator("#save-state").get_attribute("data-state") == "stopped"
        assert item(page, 1).locator("input").first.is_disabled()
        assert set(stored(attempt_id)) == {0}
        second.locator("#next").click()  # a tablet: the answer sheet is a drawer
        second.locator("#next").click()
        item(second, 2).locator(".opt").first.click()
        wait_saved(second)
        assert set(stored(attempt_id)) == {0, 2}
    finally:
        other.close()


def test_the_board_shows_progress_and_an_extension_reaches_the_candidates_timer(
        browser, page, live_server, live_app, exam, shots):
    live_app.config["EXAM_STATUS_POLL_SECONDS"] = 2
    try:
        attempt_id = start(page, live_server.url, exam)
        item(page, 0).locator(".opt").first.click()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("a")
        wait_saved(page)
        before = seconds_left(page)
        staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        proctor = staff.new_page()
        try:
            sign_in(proctor, live_server.url, f"proctor-{exam.code}")
            proctor.goto(f"{live_server.url}/board/rooms/{exam.room.id}")
            row = proctor.locator("#board-rows tr").first
            row.locator(".progress-text").filter(has_text="2 / 9").wait_for()
            assert proctor.locator("[data-count=in_progress]").inner_text() == "1"
            proctor.screenshot(path=str(shots / "board-desktop.png"), full_page=True)
            row.locator("[data-enrolment]").click()
            form = proctor.locator("form[data-action=extend]")
            form.locator("input[name=minutes]").fill("10")
            form.locator("input[name=reason]").fill("停电补时")
            form.locator("button").click()
            proctor.locator("#panel-error").filter(has_text=re.compile(".+")).wait_for()
            assert attempt(attempt_id).extended_minutes == 10
            proctor.locator("#panel [data-close]").click()
            proctor.set_viewport_size(TABLET)
            proctor.wait_for_timeout(500)
            proctor.screenshot(path=str(shots / "board-tablet.png"), full_page=True)
        finally:
            staff.close()
        deadline = time.monotonic() + 15
        while seconds_left(page) < before + 9 * 60 and time.monotonic() < deadline:
            page.wait_for_timeout(250)  # the page's idle status check (every 2 s here)
        assert seconds_left(page) > before + 9 * 60
        page.locator("#notice").filter(has_text=re.compile("10")).wait_for()
    finally:
        live_app.config.pop("EXAM_STATUS_POLL_SECONDS", None)
