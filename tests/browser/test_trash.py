"""A person scrolls down their trash until older deletes load, picks a task there and restores it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from generation.models import GenerationTask
from library import views as library_views
from tests.library.library_helpers import make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_scroll_to_older_deletes_and_restore_one(
    sign_in, owner, settings, tmp_path, live_server, page: Page, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(library_views, "TRASH_PAGE_SIZE", 3)
    now = timezone.now()
    for n in range(5):
        task = make_task(owner, prompt=f"kite number {n}", n_images=1)
        GenerationTask.objects.filter(pk=task.pk).update(deleted_at=now - timedelta(days=n, minutes=1))
    oldest = GenerationTask.objects.get(prompt="kite number 4")

    sign_in("owner", "owner-pass-123")
    page.set_viewport_size({"width": 1000, "height": 320})  # the first page fills the screen: more loads on scrolling
    page.goto(live_server.url + "/trash/")
    expect(page.get_by_text("5 deleted tasks, most recently deleted first.")).to_be_visible()
    boxes = page.get_by_role("checkbox", name="Select task")
    expect(boxes).to_have_count(3)

    page.get_by_text("Loading more…").scroll_into_view_if_needed()
    expect(boxes).to_have_count(5)  # the next page arrived below the first, no reload
    page.get_by_role("checkbox", name=f"Select task {oldest.pk}").check()
    page.get_by_role("button", name="Restore selected").click()

    expect(page.get_by_text("Restored 1 task.")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Select task")).to_have_count(3)
    expect(page.get_by_text("4 deleted tasks, most recently deleted first.")).to_be_visible()
    oldest.refresh_from_db()
    assert oldest.deleted_at is None
