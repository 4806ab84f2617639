"""In a browser, in Chinese: an admin invites someone, copies the link, and the invitee joins through it (issue #11)."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def speak_chinese(context, url):
    context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": url}])


def test_an_admin_invites_and_the_invitee_joins_in_chinese(live_server, page: Page, sign_in, admin_user, browser):
    sign_in("admin", "admin-pass-123")
    speak_chinese(page.context, live_server.url)
    page.goto(live_server.url + "/team/members/")
    expect(page.get_by_role("heading", name="成员", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="通过邮箱邀请")).to_be_visible()
    expect(page.get_by_role("columnheader", name="上次登录")).to_be_visible()
    page.get_by_role("textbox", name="邮箱").fill("newcomer@example.com")
    page.get_by_role("combobox", name="角色", exact=True).select_option("viewer")
    page.get_by_role("button", name="发送邀请").click()

    expect(page.get_by_role("heading", name="发给 newcomer@example.com 的邀请")).to_be_visible()
    link = page.get_by_label("链接", exact=True)
    expect(link).to_have_attribute("readonly", "")
    url = link.input_value()
    assert "/team/members/join/" in url
    page.get_by_role("button", name="复制", exact=True).click()
    expect(page.get_by_role("button", name="已复制")).to_be_visible()  # static/team.js, through the JS catalog
    invitations = page.locator("#invitations")
    expect(invitations).to_contain_text("newcomer@example.com")
    expect(invitations).to_contain_text("访客")
    expect(page.get_by_role("button", name="复制发给 newcomer@example.com 的邀请链接")).to_be_visible()

    context = browser.new_context()
    speak_chinese(context, live_server.url)
    invitee = context.new_page()
    invitee.goto(url)
    expect(invitee.get_by_role("heading", name="加入团队")).to_be_visible()
    expect(invitee.get_by_text("你受邀以访客身份加入妙画工作室")).to_be_visible()
    invitee.get_by_label("用户名").fill("newcomer")
    invitee.get_by_label("密码", exact=True).fill("a-Long-pass-123")
    invitee.get_by_label("再次输入密码").fill("a-Long-pass-123")
    invitee.get_by_role("button", name="加入并登录").click()
    expect(invitee.get_by_text("欢迎加入团队，newcomer。")).to_be_visible()
    expect(invitee.get_by_role("link", name="生成")).to_have_count(0)
