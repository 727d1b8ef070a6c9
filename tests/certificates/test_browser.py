"""On a phone (390 × 844, Chromium): scan the printed QR code, see the certificate valid; the
body revokes it, reissues another; the pages follow; a tampered link is refused."""
from __future__ import annotations

import pytest

from exam.accounts.models import User
from exam.certificates import services
from exam.extensions import db

from ..factories import PASSWORD
from .conftest import decode_qr_codes, pdf_page_png

pytestmark = pytest.mark.e2e
BASE = "https://verify.example.test"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shared_keys(app, live_server):
    """The live server signs with the same key files as the test's application."""
    before = live_server.app.config["KEYS_DIR"]
    live_server.app.config["KEYS_DIR"] = app.config["KEYS_DIR"]
    yield
    live_server.app.config["KEYS_DIR"] = before


def _sign_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/login")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    page.locator("form button[type=submit].wide").click()
    page.wait_for_load_state()


def test_scan_revoke_reissue_and_tamper_on_a_phone(page, live_server, issued, world, tmp_path, shared_keys):
    org, actor, session, cert = issued
    other, = world.enrolled(session, ["李娜"])
    second, = services.issue_for_session(actor, session.id, [other.id])
    admin = db.session.get(User, actor.user_id)

    # The QR code printed on the PDF, decoded by zbar, is the link a phone opens.
    [scanned] = decode_qr_codes(pdf_page_png(services.certificate_pdf(cert), tmp_path, resolution=150))
    assert scanned.startswith(BASE + "/c/" + cert.number)
    page.set_viewport_size(PHONE)
    response = page.goto(live_server.url + scanned[len(BASE):])
    assert response.status == 200
    verdict = page.locator(".verdict")
    assert "verdict-ok" in verdict.get_attribute("class")
    assert page.locator(".holder").inner_text() == "王小明"
    assert page.locator(".verdict-title").is_visible()
    box = page.locator(".verdict").bounding_box()
    assert box["width"] <= PHONE["width"] and box["y"] < PHONE["height"] / 2  # verdict first, no sideways scroll
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(tmp_path / "valid.png"), full_page=True)

    # Is it the person in front of me? Only yes or no.
    page.fill("#id_number", cert.holder_id_number)
    page.locator(".confirm-id button[type=submit]").click()
    assert page.locator(".answer-yes").is_visible()
    assert cert.holder_id_number not in page.content()

    # The body's admin revokes it in the browser; the scanned link now says revoked.
    _sign_in(page, live_server, admin.username)
    page.goto(f"{live_server.url}/certificates/{cert.id}")
    page.fill("#revoke-reason", "证书信息有误")
    page.locator("form[action$='/revoke'] button").click()
    page.wait_for_load_state()
    page.goto(live_server.url + scanned[len(BASE):])
    assert "verdict-bad" in page.locator(".verdict").get_attribute("class")
    page.screenshot(path=str(tmp_path / "revoked.png"), full_page=True)

    # Reissue the other certificate: its old link shows superseded, with a link to the new one.
    old_link = services.link(second)
    page.goto(f"{live_server.url}/certificates/{second.id}")
    page.fill("#reissue-reason", "姓名更正")
    page.locator("form[action$='/reissue'] button").click()
    page.wait_for_load_state()
    page.goto(live_server.url + old_link[len(BASE):])
    assert "verdict-warn" in page.locator(".verdict").get_attribute("class")
    page.screenshot(path=str(tmp_path / "superseded.png"), full_page=True)
    page.locator(".successor a").click()
    page.wait_for_load_state()
    assert "verdict-ok" in page.locator(".verdict").get_attribute("class")
    assert page.locator(".holder").inner_text() == "李娜"
    assert page.url.split("/c/")[1] != second.number

    # A tampered link is refused with a message, not an error page.
    tampered = scanned[:-3] + ("AAA" if not scanned.endswith("AAA") else "BBB")
    response = page.goto(live_server.url + tampered[len(BASE):])
    assert response.status == 422
    assert "verdict-bad" in page.locator(".verdict").get_attribute("class")
    assert page.locator(".verdict-detail").inner_text().strip()
    assert page.locator(".holder").count() == 0
    page.screenshot(path=str(tmp_path / "tampered.png"), full_page=True)
