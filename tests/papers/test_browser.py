"""The editors in a real Chromium: live totals and added rows (the forms also work without it)."""
from __future__ import annotations

import pytest

from exam.extensions import db
from exam.papers import services

from ..factories import PASSWORD
from .conftest import actor_for, make_bank, occupation
from .test_practical import good

pytestmark = pytest.mark.e2e


def sign_in(page, live_server, username):
    page.goto(live_server.url + "/login")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(live_server.url + "/")


def test_blueprint_editor_shows_live_totals(page, live_server, factory):
    org = factory.org()
    editor = factory.user(org, "bank_editor", username="bpeditor")
    bank = make_bank(org)
    blueprint = services.create_blueprint(actor_for(editor, org, "bank_editor"), bank.id,
                                          services.BlueprintData("卷", services.default_spec_for_bank(bank.id)))
    sign_in(page, live_server, "bpeditor")
    page.goto(f"{live_server.url}/papers/blueprints/{blueprint.id}/edit")
    points = page.locator('[data-total="points"]')
    assert points.inner_text() == "100" and "is-ok" in points.get_attribute("class")
    page.fill('[name="sections-0-count"]', "70")
    assert "is-off" in points.get_attribute("class")
    assert page.locator('[data-total="count"]').inner_text() != ""
    page.fill('[name="shares-1-percent"]', "1")
    assert "is-off" in page.locator('[data-total="shares"]').get_attribute("class")
    page.fill('[name="d3"]', "100")
    assert "is-ok" in page.locator('[data-total="mix"]').get_attribute("class")


def test_practical_editor_adds_rows_and_saves(page, live_server, factory):
    org = factory.org()
    editor = factory.user(org, "bank_editor", username="pteditor")
    occupation()
    db.session.commit()
    version = services.import_practical_spec(actor_for(editor, org, "bank_editor"), org.id, "6-31-01-03", 4,
                                             services.load_practical_spec_yaml(good())[0])
    sign_in(page, live_server, "pteditor")
    page.goto(f"{live_server.url}/papers/practical/{version.spec_id}/edit")
    assert page.locator("[data-weights-total]").inner_text() == "100"
    blocks = page.locator("[data-task]")
    before = blocks.count()
    page.get_by_role("button", name="添加考核题目").click()
    assert blocks.count() == before + 1
    first = blocks.first
    rows = first.locator(".sheet-row").count()
    first.get_by_role("button", name="添加评分项").click()
    assert first.locator(".sheet-row").count() == rows + 1
    first.locator('[name="tasks-0-sheet-0-max_points"]').fill("20")
    assert first.locator("[data-sheet-total]").inner_text() == "90"
    first.locator('[name="tasks-0-sheet-0-max_points"]').fill("30")
    page.locator('[name="tasks-0-minutes"]').fill("160")
    page.get_by_role("button", name="保存为新版本").click()
    page.wait_for_url(f"{live_server.url}/papers/practical/{version.spec_id}")
    assert "第 2 版" in page.locator("main").inner_text()
