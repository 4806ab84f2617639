"""In a browser: an admin invites someone, copies the link, and the invitee joins through it and is signed in."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_invites_and_the_invitee_joins(live_server, page: Page, sign_in, admin_user, browser):
    sign_in("admin", "admin-pass-123")
    page.goto(live_server.url + "/team/members/")
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    page.get_by_role("textbox", name="Email").fill("newcomer@example.com")
    page.get_by_role("combobox", name="Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Send invitation").click()

    link = page.get_by_label("The link")
    expect(link).to_have_attribute("readonly", "")
    url = link.input_value()
    assert "/team/members/join/" in url
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    expect(page.get_by_role("table").last).to_contain_text("newcomer@example.com")

    invitee = browser.new_context().new_page()
    invitee.goto(url)
    invitee.get_by_label("User name").fill("newcomer")
    invitee.get_by_label("Password", exact=True).fill("a-Long-pass-123")
    invitee.get_by_label("Password again").fill("a-Long-pass-123")
    invitee.get_by_role("button", name="Join and sign in").click()
    expect(invitee.get_by_text("Welcome to the team, newcomer.")).to_be_visible()
    expect(invitee.get_by_role("heading", name="Team gallery")).to_be_visible()
    expect(invitee.get_by_role("link", name="Generate")).to_have_count(0)
