"""A person tags two tasks of their history, filters by the tag, saves the search and opens it from Collections."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.library.library_helpers import make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tag_two_filter_save_and_open(sign_in, owner, settings, tmp_path, live_server, page: Page):
    settings.MEDIA_ROOT = tmp_path / "media"
    now = timezone.now()
    whale = make_task(owner, prompt="a blue whale in deep water", created_at=now - timedelta(minutes=9))
    cliff = make_task(owner, prompt="a lighthouse on a cliff", created_at=now - timedelta(minutes=5))
    fog = make_task(owner, prompt="a lighthouse in the fog", created_at=now - timedelta(minutes=1))

    sign_in("owner", "owner-pass-123")
    page.goto(live_server.url + "/history/")
    expect(page.get_by_role("article")).to_have_count(3)
    page.get_by_role("checkbox", name=f"Select task {cliff.pk}").check()
    page.get_by_role("checkbox", name=f"Select task {fog.pk}").check()

    page.get_by_role("button", name="Tag…").click()
    names = page.get_by_label("Tags for the selected tasks")
    names.fill("a,b" + "x" * 60)
    page.get_by_role("button", name="Add tags").click()
    expect(page.get_by_role("alert").filter(has_text="at most 50 characters")).to_be_visible()
    expect(names).to_have_value("a,b" + "x" * 60)  # what was typed stays, and so does the selection
    names.fill("Lighthouses")
    page.get_by_role("button", name="Add tags").click()
    expect(page.get_by_text("Tagged 2 tasks.")).to_be_visible()
    whale_card = page.get_by_role("article", name=f"Task {whale.pk}")
    expect(whale_card.get_by_role("link", name="Lighthouses")).to_have_count(0)

    page.get_by_role("article", name=f"Task {fog.pk}").get_by_role("link", name="Lighthouses").click()
    expect(page).to_have_url(live_server.url + "/history/?tag=Lighthouses")
    expect(page.get_by_role("article")).to_have_count(2)

    page.get_by_role("button", name="Save this search").click()
    page.get_by_label("Name of the search").fill("Lighthouse series")
    page.get_by_label("Share with the team").check()
    page.get_by_role("button", name="Save the search").click()
    expect(page.get_by_role("status").filter(has_text="Search “Lighthouse series” saved.")).to_be_visible()

    page.goto(live_server.url + "/collections/")
    searches = page.get_by_role("region", name="Saved searches")
    expect(searches.get_by_text("shared", exact=True)).to_be_visible()
    searches.get_by_role("link", name="Lighthouse series").click()
    expect(page).to_have_url(live_server.url + "/history/?tag=Lighthouses")
    expect(page.get_by_role("article")).to_have_count(2)
    expect(page.get_by_role("link", name="Stop filtering by the tag Lighthouses")).to_be_visible()
