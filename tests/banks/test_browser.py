"""The bank pages in a real Chromium (CSRF on): upload, preview, import, browse, edit, phone width."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..factories import PASSWORD
from .conftest import DATA

pytestmark = pytest.mark.e2e


def sign_in(page, live_server, username):
    page.goto(live_server.url + "/login")
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/login")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").last.click()
    page.wait_for_url(live_server.url + "/")


def test_upload_preview_import_browse_and_edit(page, live_server, factory, tmp_path):
    org = factory.org("E2EBANK")
    factory.user(org, "bank_editor", username="e2eeditor")
    sign_in(page, live_server, "e2eeditor")
    page.locator("a.tile", has_text="Question banks").click()  # from the start page
    page.get_by_role("link", name="Import questions").click()

    broken = tmp_path / "broken.yaml"
    broken.write_bytes((DATA / "small.yaml").read_bytes().replace(b"answer: C\n", b"answer: Q\n"))
    page.set_input_files("#file", str(broken))
    page.get_by_role("button", name="Upload and preview").click()
    assert "This file cannot be imported: it has 2 problems." in page.locator(".alert-error").inner_text()
    assert page.locator(".problems-error tbody tr").count() == 2
    assert page.get_by_role("button", name="Import 8 items").count() == 0

    page.goto(live_server.url + "/banks/import")
    page.set_input_files("#file", str(DATA / "small.yaml"))
    page.get_by_role("button", name="Upload and preview").click()
    assert "The file can be imported: 8 items." in page.locator(".alert-success").inner_text()
    page.get_by_role("button", name="Import 8 items").click()
    page.wait_for_url("**/banks/*")
    assert "Imported 8 items." in page.locator(".flashes").inner_text()
    assert page.locator(".item-row").count() == 8

    page.locator(".tree a", has_text="兆欧表").click()
    assert page.locator(".item-row").count() == 2
    page.locator(".item-row a", has_text="兆欧表用于测量").click()
    assert page.locator(".item-main .candidate .option").count() == 4
    page.get_by_role("link", name="Edit").click()
    # The form shows only the fields of the chosen type once its script has run: wait for it.
    expect(page.locator("fieldset[data-types=fill_blank]")).to_be_hidden()
    page.select_option("#type", "true_false")
    expect(page.locator("fieldset[data-types=true_false]")).to_be_visible()
    expect(page.locator("fieldset[data-types='single multiple']")).to_be_hidden()
    page.select_option("#type", "single")
    page.fill("#stem", "兆欧表主要用于测量（　　）。")
    page.get_by_role("button", name="Save").click()
    assert "Saved as version 2." in page.locator(".flashes").inner_text()
    assert page.locator(".version-list > li").count() == 2

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name=page.locator(".crumbs a").first.inner_text()).first.click()
    tree = page.locator(".tree-box")
    expect(tree).to_have_js_property("open", False)  # folded on a phone: the items come first
    assert page.locator(".item-row").first.is_visible()
    page.screenshot(path=str(tmp_path / "bank-phone.png"))
