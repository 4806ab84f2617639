"""A person uses an image as init image, generates, and follows the new task's input back to the original, where
the new task is listed under "Made from this image"."""

import uuid

import pytest
from playwright.sync_api import Page, expect

from generation import services
from generation.models import GenerationTask
from miaohua_site.accounts.services import upstream_account_store
from tests.generation.test_submit import txt2img

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_image_leads_to_what_was_made_from_it_and_back(
    sign_in, live_server, owner, simulator_url, settings, tmp_path, engine_held, page: Page
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.2
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    original = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())
    engine_held()  # sent, polled and stored through the simulator
    image = original.images.get()
    assert image.file, image.mirror_error

    sign_in("owner", "owner-pass-123")
    page.goto(f"{live_server.url}/images/{image.pk}/")
    expect(page.get_by_role("heading", name="Made from this image")).to_have_count(0)
    page.get_by_role("link", name="Use as init image").click()

    expect(page.get_by_role("heading", name="Generate")).to_be_visible()
    page.get_by_label("Prompt", exact=True).fill("the same lighthouse, in winter")
    page.get_by_role("button", name="Generate").click()
    card = page.get_by_role("article").first
    expect(card).to_contain_text("Queued")
    made = GenerationTask.objects.exclude(pk=original.pk).get(owner=owner)
    assert made.kind == GenerationTask.Kind.IMG2IMG
    engine_held()
    expect(card).to_contain_text("Done", timeout=15_000)

    card.get_by_role("link", name="Details").click()
    inputs = page.get_by_role("region", name="Inputs")
    expect(inputs).to_contain_text("Init image")
    expect(inputs).to_contain_text(f"From task #{original.pk}")
    inputs.get_by_role("link", name="Init image").click()  # the thumbnail

    expect(page.get_by_role("heading", name=f"Image 1 of task {original.pk}")).to_be_visible()
    made_from = page.get_by_role("region", name="Made from this image")
    expect(made_from.get_by_role("link", name=f"Task #{made.pk}")).to_be_visible()
    made_from.get_by_role("link", name=f"Task #{made.pk}").click()
    expect(page.get_by_role("heading", name=f"Task {made.pk}")).to_be_visible()
