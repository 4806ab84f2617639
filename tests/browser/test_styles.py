"""Styles on the Generate page, in a browser: picked in click order, a style's settings put into the form, the
task made with the expanded prompt; "Save these settings as a style" saves without losing the form."""

import pytest
from playwright.sync_api import Page, expect

from generation.models import GenerationTask, Style
from miaohua_site.accounts.services import upstream_account_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_two_styles_picked_in_click_order_make_the_task(sign_in, live_server, owner, simulator_url, page: Page):
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    Style.objects.create(owner=owner, name="Frame", prompt="[{prompt}]")
    Style.objects.create(owner=owner, name="Oil", prompt="oil painting of {prompt}", neg_prompt="blurry", ddim_steps=33)
    sign_in("owner", "owner-pass-123")
    page.goto(f"{live_server.url}/generate/")
    page.get_by_label("Prompt", exact=True).fill("a cat")

    page.get_by_text("Oil", exact=True).click()  # listed second, picked first
    expect(page.get_by_label("Steps", exact=True)).to_have_value("33")  # its settings are put into the form
    expect(page.get_by_role("status").filter(has_text="put its settings into the form")).to_be_visible()
    page.get_by_text("Frame", exact=True).click()
    page.screenshot(path="/tmp/styles_scratch/picker.png", full_page=True)

    page.get_by_role("button", name="Save these settings as a style…").click()
    page.get_by_label("Name").fill("Cats")
    page.get_by_role("button", name="Save style").click()
    expect(page.get_by_text("Style “Cats” saved.")).to_be_visible()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a cat")  # the form is as it was
    expect(page.get_by_text("Cats", exact=True)).to_be_visible()  # and the picker offers the new style
    assert Style.objects.get(name="Cats").prompt == "{prompt}, a cat"

    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_url("**/generate/?task=*")
    task = GenerationTask.objects.get(owner=owner)
    assert task.params["prompt"] == "[oil painting of a cat]"
    assert task.params["neg_prompt"] == "blurry" and task.params["ddim_steps"] == 33
    assert task.style_names == "Oil, Frame"
    expect(page.get_by_text("[oil painting of a cat]").first).to_be_visible()
