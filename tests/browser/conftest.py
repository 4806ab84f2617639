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
