""""Generate with this" for a LoRA chooses the base model the LoRA was made for, and the Generate page warns when
the LoRA chosen was made for another base model (the Catalog's LoRAs and a trained LoRA alike)."""

import html
import re

import pytest
from django.urls import reverse

from generation.forms import GenerateForm
from miaohua_site.upstream.types import Model
from tests.generation.test_views import connected  # noqa: F401 (fixture)
from training.models import TrainingJob
from training.templatetags.training_tags import generate_url

pytestmark = pytest.mark.django_db(transaction=True)

ARTIST, SDXL = "sgl_artist_v0.3.5_0925", "sdxl_base_v1.0"
WARNING = "The LoRA Watercolor Wash was made for SDXL 1.0, not Artist v0.3.5"


def warning_of(page: str) -> tuple[str, bool]:
    match = re.search(r'<div [^>]*id="lora-mismatch"[^>]*?( hidden)?>([^<]*)</div>', page)
    assert match, "the page has no place for the LoRA warning"
    return html.unescape(match.group(2)), match.group(1) is None


def test_generate_with_a_lora_chooses_its_base_model(connected):  # noqa: F811
    catalog = connected.get(reverse("catalog"), {"kind": "lora", "q": "watercolour"}).content.decode()
    link = html.unescape(re.search(r'href="(/generate/\?lora=lora_watercolor_v2[^"]*)"', catalog).group(1))
    assert "base=SDXL" in link

    response = connected.get(link)

    assert response.context["form"].initial["versionid"] == SDXL
    assert re.search(rf'value="{SDXL}" checked', response.content.decode())
    text, shown = warning_of(response.content.decode())
    assert not shown and text == ""


def test_it_warns_when_the_lora_was_made_for_another_base_model(connected):  # noqa: F811
    page = connected.get(reverse("generate"), {"lora": "lora_watercolor_v2", "versionid": ARTIST}).content.decode()
    text, shown = warning_of(page)
    assert shown and text.startswith(WARNING)
    # … and the page can say so as the member changes either choice (app.js reads this).
    made_for = html.unescape(re.search(r'data-lora-made-for="([^"]+)"', page).group(1))
    assert '"lora_watercolor_v2": ["SDXL 1.0", "Watercolor Wash"]' in made_for


def test_a_trained_lora_opens_with_the_base_model_it_was_trained_on(connected, owner):  # noqa: F811
    job = TrainingJob(lora_versionid="private_round_cat_v1", base_model="SDXL 1.0", trigger_word="roundcat")
    url = generate_url(job)
    assert "base=SDXL+1.0" in url

    response = connected.get(url)  # the LoRA may not be in the cached private list yet: the link says it
    assert response.context["form"].initial["versionid"] == SDXL


def test_the_form_compares_a_private_lora_with_the_chosen_model():
    bases = [Model(versionid=ARTIST, model_name="Artist v0.3.5"), Model(versionid=SDXL, model_name="SDXL 1.0")]
    mine = [Model(versionid="private_cat", model_name="Round cat", base_model="sdxl 1.0")]
    fitting = GenerateForm(initial={"lora_versionid": "private_cat"}, base_models=bases, private_models=mine)
    assert fitting.initial["versionid"] == SDXL and fitting.lora_mismatch == ""
    other = GenerateForm(
        initial={"lora_versionid": "private_cat", "versionid": ARTIST}, base_models=bases, private_models=mine
    )
    assert other.lora_mismatch.startswith("The LoRA Round cat was made for SDXL 1.0, not Artist v0.3.5")
    unknown = [Model(versionid="private_dog", model_name="Dog", base_model="自动选择")]
    form = GenerateForm(initial={"lora_versionid": "private_dog"}, base_models=bases, private_models=unknown)
    assert form.initial["versionid"] == ARTIST and form.lora_mismatch == ""  # nothing to compare with
