"""The login page in a real Chromium: renders in Chinese, switches to English, signs in."""
import pytest

from ..factories import PASSWORD

pytestmark = pytest.mark.e2e


def test_login_page_in_chinese_and_english_and_sign_in(page, live_server, factory, tmp_path):
    org = factory.org("E2E", name="浏览器测试机构")
    factory.user(org, "admin", username="browseradmin", real_name="测试管理员")
    page.goto(live_server.url + "/login")
    assert page.locator("h1").inner_text() == "登录"
    page.screenshot(path=str(tmp_path / "login-zh.png"))
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/login")
    assert page.locator("h1").inner_text() == "Sign in"
    page.fill("#login", "browseradmin")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").last.click()
    page.wait_for_url(live_server.url + "/")
    assert "Welcome, 测试管理员" in page.locator("h1").inner_text()
    menu = page.get_by_role("navigation", name="Main")
    people = menu.get_by_role("link", name="People")
    group = menu.locator("summary", has_text="Organisation")
    assert not people.is_visible()  # in the Organisation menu, closed
    group.click()
    assert people.is_visible()
    page.keyboard.press("Escape")
    assert not people.is_visible()
    # A phone-sized screen: the menu folds behind a button and still works.
    page.set_viewport_size({"width": 390, "height": 844})
    assert not group.is_visible()
    page.locator(".nav-toggle-label").click()
    group.click()
    assert people.is_visible()
    people.click()
    page.wait_for_url("**/admin/people")
