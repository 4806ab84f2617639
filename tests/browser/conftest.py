import pytest
from playwright.sync_api import Page


@pytest.fixture
def sign_in(live_server, page: Page):
    """Sign in through the login form, as a person would."""

    def _sign_in(username: str, password: str) -> Page:
        page.goto(live_server.url + "/accounts/login/")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        return page

    return _sign_in


@pytest.fixture(autouse=True)
def no_policy_violations(page: Page):
    """Nothing a page does is refused by the Content-Security-Policy (htmx, Bootstrap and our scripts included)."""
    refused = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    yield
    assert not refused, refused
