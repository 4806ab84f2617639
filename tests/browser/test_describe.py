"""Describe from the Generate page: choose an image, get Miaohua's caption, use it as the prompt."""

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from miaohua_site.accounts.services import upstream_account_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_caption_becomes_the_prompt(sign_in, owner, simulator_url, tmp_path, settings, page: Page):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    picture = tmp_path / "red.png"
    Image.new("RGB", (320, 320), "red").save(picture)

    sign_in("owner", "owner-pass-123")
    expect(page.get_by_role("heading", name="Generate")).to_be_visible()
    page.get_by_label("Prompt", exact=True).fill("something typed before")
    page.get_by_role("link", name="Describe an image for a prompt…").click()
    page.get_by_label("Image", exact=True).set_input_files(str(picture))
    page.get_by_role("button", name="Describe", exact=True).click()

    caption = page.locator("[data-caption]")
    expect(caption).not_to_be_empty()
    page.get_by_role("button", name="Use as prompt").click()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value(caption.inner_text().strip())
    expect(page.get_by_role("heading", name="Generate")).to_be_visible()  # still on the page, nothing lost
