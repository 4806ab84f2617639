"""A person searches their history, opens the viewer, walks with the arrow keys, and reuses a task's settings."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from miaohua_site.accounts.services import upstream_account_store
from tests.library.library_helpers import make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_view_walk_and_reuse(sign_in, owner, simulator_url, settings, tmp_path, live_server, page: Page):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    now = timezone.now()
    make_task(owner, prompt="a blue whale in deep water", created_at=now - timedelta(minutes=9))
    older = make_task(
        owner,
        prompt="a lighthouse on a cliff at dusk",
        n_images=2,
        select_seed=777,
        created_at=now - timedelta(minutes=5),
    )
    newer = make_task(owner, prompt="a lighthouse in the fog", n_images=1, created_at=now - timedelta(minutes=1))

    sign_in("owner", "owner-pass-123")
    page.goto(live_server.url + "/history/")
    expect(page.get_by_role("article")).to_have_count(3)

    page.get_by_label("Search prompts").fill("lighthouse")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(live_server.url + "/history/?q=lighthouse&model=&lora=&cn=&kind=&state=&from=&to=")
    expect(page.get_by_role("article")).to_have_count(2)
    expect(page.get_by_role("article").first).to_contain_text("fog")

    page.get_by_role("article").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=f"Image 1 of task {newer.pk}")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("heading", name=f"Image 1 of task {older.pk}")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("heading", name=f"Image 2 of task {older.pk}")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("heading", name=f"Image 1 of task {older.pk}")).to_be_visible()

    page.get_by_role("link", name="… with the same seed").click()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a lighthouse on a cliff at dusk")
    expect(page.get_by_role("spinbutton", name="Seed")).to_have_value("777")

    page.go_back()
    page.keyboard.press("Escape")
    expect(page).to_have_url(live_server.url + "/history/")
