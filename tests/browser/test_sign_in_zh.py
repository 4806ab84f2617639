"""A Chinese browser signs in to a Chinese studio, switches to English from the user menu, and the choice is the
member's: the sign-in page after signing out, and another browser after signing in, stay English (issue #11)."""

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in_in_chinese(page: Page, url: str) -> None:
    page.goto(url + "/accounts/login/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("用户名").fill("owner")
    page.get_by_label("密码").fill("owner-pass-123")
    page.get_by_role("button", name="登录").click()


def test_a_chinese_browser_signs_in_and_the_members_choice_follows_them(live_server, browser: Browser, owner,
                                                                        page: Page):
    first = browser.new_context(locale="zh-CN")
    chinese = first.new_page()
    chinese.goto(live_server.url + "/accounts/login/")
    expect(chinese.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(chinese.get_by_text("进入你团队的妙画工作室")).to_be_visible()

    # A wrong password first: refused in Chinese.
    chinese.get_by_label("用户名").fill("owner")
    chinese.get_by_label("密码").fill("wrong-password")
    chinese.get_by_role("button", name="登录").click()
    expect(chinese.get_by_role("alert")).to_have_text("用户名和密码不匹配。请重试。")

    _sign_in_in_chinese(chinese, live_server.url)
    expect(chinese.get_by_role("link", name="历史记录")).to_be_visible()
    expect(chinese.get_by_role("link", name="设置", exact=True)).to_be_visible()

    chinese.get_by_role("button", name="owner").click()
    expect(chinese.get_by_role("link", name="修改密码")).to_be_visible()
    chinese.locator('.dropdown-menu button[lang="en"]').click()  # "English" (its name may be shown in Chinese)
    expect(chinese.get_by_role("link", name="History")).to_be_visible()
    expect(chinese.locator("html")).to_have_attribute("lang", "en")

    chinese.get_by_role("button", name="owner").click()
    chinese.get_by_role("button", name="Sign out").click()
    expect(chinese.get_by_role("heading", name="Sign in")).to_be_visible()  # the choice outlives the session
    expect(chinese.get_by_label("User name")).to_be_visible()
    expect(chinese.get_by_role("button", name="简体中文")).to_be_visible()
    first.close()

    # Another browser, Chinese too: Chinese until the member signs in, then their choice.
    second = browser.new_context(locale="zh-CN")
    other = second.new_page()
    _sign_in_in_chinese(other, live_server.url)
    expect(other.get_by_role("link", name="History")).to_be_visible()
    expect(other.locator("html")).to_have_attribute("lang", "en")
    second.close()
