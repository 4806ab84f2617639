"""The Generate workspace: the form on the left stays in view while the gallery of recent tasks scrolls on the
right (a phone stacks them), Ctrl+Enter generates, and an image opens in the viewer over the page, with its own
address, the arrow keys and Escape."""

import os

import pytest
from playwright.sync_api import Page, expect

from generation.models import GenerationTask
from miaohua_site.accounts.services import upstream_account_store
from tests.library.library_helpers import make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SHOTS_DIR", "")  # set to a folder to keep screenshots of the pages


def shot(page: Page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


@pytest.fixture
def workspace(sign_in, live_server, owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    tasks = [make_task(owner, prompt=f"a paper kite number {n} over the dunes", n_images=1 + n % 3) for n in range(10)]
    sign_in("owner", "owner-pass-123")
    return tasks


def test_it_puts_the_form_beside_the_gallery_and_keeps_it_in_view(workspace, live_server, page: Page):
    page.set_viewport_size({"width": 1400, "height": 820})
    page.goto(f"{live_server.url}/generate/")
    prompt = page.get_by_label("Prompt", exact=True)
    gallery = page.get_by_role("region", name="Your recent tasks")
    expect(gallery.get_by_role("article")).to_have_count(10)
    form_box = page.locator("#generate-form").bounding_box()
    gallery_box = gallery.bounding_box()
    assert form_box["x"] + form_box["width"] <= gallery_box["x"], (form_box, gallery_box)  # side by side
    assert 360 <= form_box["width"] <= 460, form_box
    assert gallery_box["y"] < form_box["y"] + 200  # both start at the top
    preview = gallery.get_by_role("link", name=f"Image 1 of task {workspace[-1].pk}").bounding_box()
    assert preview["width"] >= 250, preview  # a large preview, not a thumbnail
    shot(page, "generate-light")

    page.evaluate("window.scrollTo(0, 1200)")  # the gallery scrolls
    assert page.evaluate("window.scrollY") > 600
    expect(prompt).to_be_in_viewport()  # the form is sticky
    nav = page.get_by_role("navigation", name="Main").bounding_box()
    assert prompt.bounding_box()["y"] >= nav["y"] + nav["height"]
    expect(page.get_by_role("button", name="Generate", exact=True)).to_be_in_viewport()
    shot(page, "generate-scrolled")

    page.get_by_role("button", name="Switch between light and dark theme").click()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "generate-dark")


def test_a_phone_shows_the_gallery_after_the_form(workspace, live_server, page: Page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/generate/")
    form_box = page.locator("#generate-form").bounding_box()
    gallery_box = page.get_by_role("region", name="Your recent tasks").bounding_box()
    assert gallery_box["y"] >= form_box["y"] + form_box["height"], (form_box, gallery_box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    shot(page, "generate-phone")

    page.get_by_role("link", name=f"Image 1 of task {workspace[-1].pk}").click()  # the viewer fits a phone too
    viewer = page.get_by_role("dialog", name="Image viewer")
    expect(viewer.get_by_role("heading", name=f"Image 1 of task {workspace[-1].pk}")).to_be_visible()
    assert page.evaluate("document.getElementById('viewer-overlay').scrollWidth") <= 390
    shot(page, "viewer-phone")


def test_ctrl_enter_generates(workspace, live_server, owner, page: Page):
    page.set_viewport_size({"width": 1400, "height": 820})
    page.goto(f"{live_server.url}/generate/")
    page.get_by_label("Prompt", exact=True).fill("a lantern festival on the river")
    page.get_by_label("Negative prompt").focus()  # anywhere on the page, not only in the prompt
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("article").first).to_contain_text("a lantern festival on the river")
    assert GenerationTask.objects.filter(owner=owner, prompt="a lantern festival on the river").count() == 1


def test_the_viewer_opens_over_the_page_and_moves_with_the_keys(workspace, live_server, page: Page):
    page.set_viewport_size({"width": 1400, "height": 820})
    page.goto(f"{live_server.url}/generate/")
    page.evaluate("window.__notReloaded = true")
    newest = next(task for task in reversed(workspace) if task.n_images == 3)
    first, second = newest.images.order_by("save_index")[:2]
    opener = page.get_by_role("link", name=f"Image 1 of task {newest.pk}")
    opener.click()

    viewer = page.get_by_role("dialog", name="Image viewer")
    expect(viewer).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/images/{first.pk}/")
    expect(viewer.get_by_role("heading", name=f"Image 1 of task {newest.pk}")).to_be_visible()
    for action in ("Reuse settings", "Use as init image", "Use as ControlNet image", "Describe", "Download original"):
        expect(viewer.get_by_role("link", name=action)).to_be_visible()
    expect(viewer.get_by_role("button", name="Add to collection")).to_be_visible()
    expect(viewer.get_by_role("button", name="Delete this task")).to_be_visible()
    expect(viewer.get_by_role("button", name="Close the image viewer")).to_be_focused()
    expect(page).to_have_title(f"Image 1 of task {newest.pk} · Miaohua Studio")
    viewer.get_by_role("link", name="Open as a page").focus()  # the first thing in the viewer
    page.keyboard.press("Shift+Tab")  # focus wraps inside the viewer, never to the page behind it
    assert page.evaluate("document.getElementById('viewer-overlay').contains(document.activeElement)")
    viewer.get_by_role("button", name="Close the image viewer").focus()
    shot(page, "viewer-overlay")

    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(f"{live_server.url}/images/{second.pk}/")
    expect(viewer.get_by_role("heading", name=f"Image 2 of task {newest.pk}")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(viewer.get_by_role("heading", name=f"Image 1 of task {newest.pk}")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/images/{first.pk}/")

    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(page).to_have_url(f"{live_server.url}/generate/")
    expect(page).to_have_title("Generate · Miaohua Studio")
    expect(opener).to_be_focused()  # focus goes back where it was
    assert page.evaluate("window.__notReloaded") is True  # all of it without leaving the page

    opener.click()
    expect(viewer.get_by_role("heading", name=f"Image 1 of task {newest.pk}")).to_be_visible()
    page.go_back()  # Back closes it too
    expect(viewer).to_be_hidden()
    expect(page).to_have_url(f"{live_server.url}/generate/")
    page.go_forward()  # and Forward opens it again
    expect(viewer.get_by_role("heading", name=f"Image 1 of task {newest.pk}")).to_be_visible()


def test_the_viewer_opens_over_history_and_its_address_is_a_page(workspace, live_server, page: Page):
    page.set_viewport_size({"width": 1400, "height": 820})
    page.goto(f"{live_server.url}/history/")
    newest = workspace[-1]
    image = newest.images.order_by("save_index").first()
    page.locator(f"a[href='/images/{image.pk}/?in=history']").click()
    viewer = page.get_by_role("dialog", name="Image viewer")
    expect(viewer.get_by_role("heading", name=f"Image 1 of task {newest.pk}")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/images/{image.pk}/?in=history")
    viewer.get_by_role("button", name="Add to collection").click()  # the page's own dialog, above the viewer
    collect = page.get_by_role("dialog", name="Add to a collection")
    expect(collect).to_be_visible()
    expect(collect.get_by_role("button", name="Close")).to_be_visible()
    expect(collect).to_be_focused()  # shown: Bootstrap moved the focus into it
    page.keyboard.press("Escape")
    expect(collect).to_be_hidden()
    expect(viewer).to_be_visible()  # closing the dialog leaves the viewer open
    viewer.get_by_role("button", name="Close the image viewer").click()
    expect(viewer).to_be_hidden()
    expect(page).to_have_url(f"{live_server.url}/history/")

    page.goto(f"{live_server.url}/images/{image.pk}/")  # its address opens the whole page, as before
    expect(page.get_by_role("heading", name=f"Image 1 of task {newest.pk}")).to_be_visible()
    expect(page.get_by_role("dialog", name="Image viewer")).to_be_hidden()
