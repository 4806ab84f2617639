"""After Generate the page opens at the new card (#task-N): its status shows below the sticky navigation."""

import pytest
from playwright.sync_api import Page, expect

from miaohua_site.accounts.services import upstream_account_store
from tests.library.library_helpers import make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_new_cards_status_is_not_hidden_under_the_navigation(
    sign_in, live_server, owner, simulator_url, settings, tmp_path, page: Page
):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    tasks = [make_task(owner, prompt=f"a kite number {n}", n_images=1) for n in range(3)]
    page.set_viewport_size({"width": 1280, "height": 520})
    sign_in("owner", "owner-pass-123")

    newest = tasks[-1]
    page.goto(f"{live_server.url}/generate/?task={newest.pk}#task-{newest.pk}")
    card = page.get_by_role("article", name=f"Task {newest.pk}")
    status = card.get_by_text("Done", exact=True)
    expect(status).to_be_visible()
    page.wait_for_function("window.scrollY > 0")  # the browser went to the anchor

    nav = page.get_by_role("navigation", name="Main").bounding_box()
    badge = status.bounding_box()
    assert badge["y"] >= nav["y"] + nav["height"], (badge, nav)
