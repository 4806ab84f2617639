"""A person generates text-to-image with a ControlNet and a LoRA, and watches the images arrive in place."""

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from generation.models import GenerationTask
from miaohua_site.accounts.services import upstream_account_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def control_image(tmp_path):
    path = tmp_path / "circle.png"
    image = Image.new("RGB", (512, 512), "white")
    ImageDraw.Draw(image).ellipse((100, 100, 400, 400), outline="black", width=8)
    image.save(path)
    return path


def test_images_appear_without_reloading(
    sign_in, owner, simulator_url, settings, tmp_path, control_image, engine_held, page: Page
):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    # The engine is held back until the page shows the queued task; then it runs (inline) while the page polls.

    sign_in("owner", "owner-pass-123")
    expect(page.get_by_role("heading", name="Generate")).to_be_visible()
    page.get_by_label("Prompt", exact=True).fill("a lighthouse on a cliff at dusk")
    page.get_by_role("button", name="+ Add ControlNet").click()
    expect(page.get_by_role("group", name="ControlNet")).to_be_visible()
    page.get_by_label("Processor").select_option("canny")
    page.get_by_label("Control image").set_input_files(str(control_image))
    page.get_by_label("LoRA", exact=True).select_option(index=1)
    lora = page.get_by_label("LoRA", exact=True).input_value()
    page.get_by_role("button", name="Generate").click()

    card = page.get_by_role("article").first
    expect(card).to_contain_text("Queued")
    expect(page.get_by_label("My queue: 1 running")).to_be_visible()
    page.evaluate("window.__notReloaded = true")

    task = GenerationTask.objects.get(owner=owner)
    assert task.params["lora_configs"][0]["versionid"] == lora
    assert task.params["cn_configs"][0]["cn"] == "canny"
    engine_held()  # what the workers do: submit, poll, mirror

    expect(card).to_contain_text("Done", timeout=15_000)
    expect(card.get_by_role("img")).to_have_count(2)
    assert page.evaluate("window.__notReloaded") is True
    expect(page.get_by_label("My queue: 0 running")).to_be_visible(timeout=10_000)

    card.get_by_role("link").first.click()
    expect(page.get_by_role("link", name="Use as ControlNet image")).to_be_visible()
