"""An image dropped on the Generate page fills the form with the settings it carries, with a note for what does
not map to Miaohua; the image fields still take their own drops."""

import base64

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from miaohua_site.accounts.services import upstream_account_store
from tests.generation.test_read_parameters import a1111_png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = (
    "a windmill at sunrise\nNegative prompt: people\n"
    "Steps: 30, Sampler: Euler a, CFG scale: 8, Seed: 321, Size: 768x768"
)

DROP = """([data, target]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], "windmill.png", { type: "image/png" }));
  const element = document.querySelector(target);
  // whether the page took the drop (cancelled the browser's own handling)
  return ["dragover", "drop"].map(type =>
    !element.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer })));
}"""


def test_an_image_dropped_on_the_page_fills_the_form(sign_in, owner, simulator_url, tmp_path, settings, page: Page):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")

    sign_in("owner", "owner-pass-123")
    expect(page.get_by_role("heading", name="Generate")).to_be_visible()
    page.get_by_label("Prompt", exact=True).fill("something typed before")
    data = base64.b64encode(a1111_png(TEXT)).decode()
    # the image fields (init image, ControlNet, Describe) keep the browser's own drop onto their file input
    assert page.evaluate(DROP, [data, "[data-image-source]"]) == [False, False]
    assert page.evaluate(DROP, [data, "h1"]) == [True, True]

    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a windmill at sunrise")
    expect(page.get_by_label("Negative prompt", exact=True)).to_have_value("people")
    expect(page.get_by_label("Seed", exact=True)).to_have_value("321")
    expect(page.get_by_label("Steps", exact=True)).to_have_value("30")
    notes = page.get_by_role("status").filter(has_text="Settings read from an image made with AUTOMATIC1111")
    expect(notes).to_contain_text("Miaohua chooses its own sampler: Euler a is not used.")
    expect(page.locator("[data-counter-for=id_prompt]")).to_have_text("21 / 1000")


def test_a_file_without_settings_says_so_and_keeps_what_was_typed(
    sign_in, owner, simulator_url, tmp_path, settings, page: Page
):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    plain = tmp_path / "plain.png"
    Image.new("RGB", (64, 64), "gold").save(plain)

    sign_in("owner", "owner-pass-123")
    page.get_by_label("Prompt", exact=True).fill("something typed before")
    page.get_by_label("Read settings from an image").set_input_files(str(plain))

    expect(page.get_by_text("No generation settings found in this image.")).to_be_visible()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("something typed before")
