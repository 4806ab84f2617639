"""The Generate page warns, as the member chooses, when the LoRA was made for another base model."""

import pytest
from playwright.sync_api import Page, expect

from miaohua_site.accounts.services import upstream_account_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_lora_warning_follows_the_choices(sign_in, live_server, owner, simulator_url, page: Page):
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    sign_in("owner", "owner-pass-123")
    page.goto(f"{live_server.url}/generate/?lora=lora_watercolor_v2")  # "Generate with this": SDXL chosen
    expect(page.get_by_role("radio", name="SDXL 1.0")).to_be_checked()
    warning = page.locator("#lora-mismatch")
    expect(warning).to_be_hidden()

    page.get_by_text("Artist v0.3.5", exact=True).click()
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("The LoRA Watercolor Wash was made for SDXL 1.0, not Artist v0.3.5")

    page.get_by_label("LoRA", exact=True).select_option(label="Ink Sketch")  # made for Artist v0.3.5
    expect(warning).to_be_hidden()
    page.get_by_label("LoRA", exact=True).select_option(label="Neon Cyberpunk")
    expect(warning).to_contain_text("made for SDXL 1.0")
