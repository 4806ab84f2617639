"""An htmx request that is refused, or not answered, tells the person why (static/htmx-errors.js)."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_refused_htmx_request_shows_its_message(sign_in, owner, live_server, page: Page):
    sign_in("owner", "owner-pass-123")
    page.goto(live_server.url + "/history/")
    page.evaluate("htmx.ajax('GET', '/collections/picker/?image=abc', '#main')")
    expect(
        page.get_by_role("alert").filter(has_text="“image” must be a whole number (an id), not “abc”.")
    ).to_be_visible()

    page.evaluate("htmx.ajax('GET', '/tasks/424242/card/', '#main')")  # not there: the 404 page's own words
    expect(
        page.get_by_role("alert").filter(has_text="There is nothing here, or it is not yours to see.")
    ).to_be_visible()


def test_an_unanswered_htmx_request_says_the_dashboard_could_not_be_reached(sign_in, owner, live_server, page: Page):
    sign_in("owner", "owner-pass-123")
    page.goto(live_server.url + "/history/")
    page.route("**/queue/", lambda route: route.abort())
    page.evaluate("() => { htmx.ajax('GET', '/queue/', '#main').catch(() => null); }")
    expect(page.get_by_role("alert").filter(has_text="The dashboard could not be reached.")).to_be_visible()
