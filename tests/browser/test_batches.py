"""A person previews a dynamic prompt on the Generate page, and is told by a toast when a batch finished."""

import uuid

import pytest
from playwright.sync_api import Page, expect

from generation import services
from generation.models import GeneratedImage, GenerationTask
from generation.plans import Plan, TaskPlan
from miaohua_site.accounts.services import upstream_account_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_preview_follows_the_prompt_and_the_mode(sign_in, owner, simulator_url, page: Page):
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    sign_in("owner", "owner-pass-123")
    page.get_by_text("Batch and dynamic prompts").click()
    page.get_by_label("Prompt", exact=True).fill("a {red|blue|green} car")
    preview = page.get_by_test_id("batch-preview")
    expect(preview).to_contain_text("Random: one of 3 combinations per task. 1 task.")
    page.get_by_label("Dynamic prompt").select_option("combinations")
    expect(preview).to_contain_text("3 prompts: a red car · a blue car · a green car")
    page.get_by_label("Prompt", exact=True).fill("a {red|blue car")
    expect(preview).to_contain_text("is never closed")


def test_a_finished_batch_becomes_a_toast_once(sign_in, owner, page: Page):
    plans = [TaskPlan(params={"versionid": "v", "prompt": f"a fox {i}", "n_images": 1}) for i in range(2)]
    group = services.generation_submit_group(
        user=owner, plan=Plan(tasks=plans, kind="batch"), idempotency_key=uuid.uuid4()
    )
    for task in group.tasks.all():
        task.state = GenerationTask.State.DONE
        task.save()
        GeneratedImage.objects.create(task=task, save_index=0, width=640, height=640, seed=1)

    sign_in("owner", "owner-pass-123")
    toast = page.locator(".toast").filter(has_text="Batch finished: 2 of 2 images")
    expect(toast).to_be_visible(timeout=10_000)
    expect(toast.get_by_role("link")).to_have_attribute("href", f"/generate/?group={group.pk}#group-{group.pk}")
    page.reload()
    expect(page.locator("#group-notices")).to_contain_text("Batch finished: 2 of 2 images")
    page.wait_for_timeout(500)
    expect(page.locator(".toast")).to_have_count(0)  # once per browser
    panel = page.locator("#group-notices")
    panel.get_by_text("Batches and sweeps").click()
    page.wait_for_timeout(5_500)  # a poll redraws the panel: it stays open
    expect(panel.get_by_role("button", name="Dismiss all")).to_be_visible()
    panel.get_by_role("button", name="Dismiss all").click()
    expect(page.locator("#group-notices")).to_be_hidden()
