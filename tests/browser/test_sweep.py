"""A person sets up a 2×2 X/Y/Z sweep, sees its count before it runs, and watches its grid fill in."""

import pytest
from playwright.sync_api import Page, expect

from generation.models import TaskGroup
from miaohua_site.accounts.services import upstream_account_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_two_by_two_sweep_fills_its_grid_live(
    sign_in, owner, simulator_url, settings, tmp_path, engine_held, page: Page
):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")

    sign_in("owner", "owner-pass-123")
    page.get_by_label("Prompt", exact=True).fill("a lighthouse on a cliff at dusk")
    page.get_by_text("X/Y/Z sweep").click()
    page.get_by_label("X axis").select_option(label="Guidance scale")
    page.get_by_label("X values").fill("5, 9")
    page.get_by_label("Y axis").select_option(label="Steps")
    page.get_by_label("Y values").fill("10, 20")
    estimate = page.get_by_role("status").filter(has_text="tasks ·")
    expect(estimate).to_contain_text("4 tasks · 8 images")
    page.get_by_label("Y values").fill("10, 1000")
    expect(page.locator("#sweep-estimate")).to_contain_text("1000 is outside 1–150")
    page.get_by_label("Y values").fill("10, 20")
    expect(estimate).to_contain_text("4 tasks · 8 images")

    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_role("heading", name="Sweep")).to_be_visible()
    expect(page.get_by_text("0 of 4 done")).to_be_visible()
    page.evaluate("window.__notReloaded = true")
    group = TaskGroup.objects.get(owner=owner)
    assert group.n_tasks == 4

    engine_held()  # what the workers do: submit, poll, mirror
    expect(page.get_by_text("4 of 4 done")).to_be_visible(timeout=15_000)
    expect(page.get_by_role("img", name="Cell")).to_have_count(4, timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True
    expect(page.get_by_role("columnheader", name="9", exact=True)).to_be_visible()
    expect(page.get_by_role("rowheader", name="20", exact=True)).to_be_visible()
