"""The vendor's catalogs: base models, LoRAs, the account's private models and the ControlNet units."""

import pytest

from miaohua_site.simulator import stats
from miaohua_site.upstream import InvalidParameter

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_lists_the_base_models(client, answer_shape):
    page = client.models_base()

    assert page.page == 1 and page.per_page == 20
    versionids = [model.versionid for model in page.models]
    assert "sgl_artist_v0.3.5_0925" in versionids
    artist = page.models[versionids.index("sgl_artist_v0.3.5_0925")]
    assert artist.model_name and artist.is_opensource is False and artist.demo_picture.startswith("http")
    assert any(model.is_opensource for model in page.models)


def test_it_pages_and_searches_the_models(client):
    first = client.models_base(page=1, per_page=2)
    second = client.models_base(page=2, per_page=2)

    assert len(first.models) == 2 and first.has_next
    assert second.page == 2 and {m.versionid for m in first.models}.isdisjoint(m.versionid for m in second.models)
    found = client.models_base(query="SDXL")
    assert found.models and all("sdxl" in (m.model_name + m.description).lower() for m in found.models)


def test_it_lists_the_loras(client, answer_shape):
    page = client.models_lora(per_page=100)

    assert page.models and not page.has_next
    assert all(model.versionid and model.model_name for model in page.models)


def test_it_lists_the_private_models_of_a_new_account(client, answer_shape):
    page = client.models_private()

    assert page.models == [] and page.has_next is False


def test_it_refuses_more_than_a_hundred_per_page_before_sending(client):
    with pytest.raises(ValueError, match="at most 100"):
        client.models_base(per_page=101)

    assert stats.calls() == 0


def test_it_reports_an_illegal_page(client):
    with pytest.raises(InvalidParameter) as caught:
        client.models_lora(page=0)

    assert caught.value.code == 129 and "page" in caught.value.message


def test_it_lists_the_controlnet_units(client, answer_shape):
    artist = client.cn_artist()
    opensource = client.cn_opensource()

    assert artist and opensource
    assert any(unit.name == "openpose" for unit in artist + opensource)
    assert all(unit.name and unit.local_name and unit.demo_picture for unit in artist + opensource)
