"""A person signs in, connects the simulator's demo Miaohua account, and sees it connected."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_connects_the_demo_account(sign_in, owner, simulator_url, page: Page):
    sign_in("owner", "owner-pass-123")

    # Generate needs a Miaohua account: the dashboard explains and offers the form.
    expect(page.get_by_text("Connect your Miaohua account first")).to_be_visible()
    page.get_by_label("Miaohua email").fill("demo@example.com")
    page.get_by_label("Miaohua password").fill("wrong")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_text("Miaohua did not accept this email and password")).to_be_visible()
    expect(page.get_by_label("Miaohua email")).to_have_value("demo@example.com")

    page.get_by_label("Miaohua password").fill("demo")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("heading", name="Generate")).to_be_visible()  # back where they were going

    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("status").filter(has_text="connected as")).to_contain_text("demo@example.com")
    expect(page.get_by_text("Simulator mode.")).to_be_visible()
