"""The Catalog page against the simulator over HTTP: the five lists with their demo pictures, search and paging
at the vendor, "generate with this", caching (counted at the simulator) with a refresh, and vendor errors.
django-q2 runs inline here, so the worker's refresh has run when a page answers (tests/generation/
test_catalog_refresh.py plays the worker step by step)."""

import pytest
from django.urls import reverse

from generation import views_catalog
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator import catalog as sim_catalog
from miaohua_site.simulator import stats
from miaohua_site.simulator.models import SimAccount, SimModel
from tests.library.library_helpers import is_login_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connected(client, owner, simulator_url):
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.force_login(owner)
    return client


def names(response) -> list[str]:
    return [getattr(entry, "model_name", None) or entry.name for entry in response.context["entries"]]


def test_it_lists_base_models_with_demo_pictures_and_generate_links(connected):
    response = connected.get(reverse("catalog"))

    content = response.content.decode()
    assert response.status_code == 200
    assert names(response)[:2] == ["Artist v0.3.5", "Artist Turbo v1.0"]
    assert f'href="{reverse("generate")}?versionid=sgl_artist_v0.3.5_0925"' in content
    assert 'alt="Demo picture of Artist v0.3.5"' in content
    assert all(entry.demo_picture.startswith("http") for entry in response.context["entries"])
    assert "Generate with this" in content


def test_loras_open_the_generate_form_with_the_lora(connected):
    response = connected.get(reverse("catalog"), {"kind": "lora"})
    assert "Watercolor Wash" in names(response)
    assert f'href="{reverse("generate")}?lora=lora_watercolor_v2&amp;base=SDXL%201.0"' in response.content.decode()
    prefilled = connected.get(reverse("generate"), {"lora": "lora_watercolor_v2"})
    assert prefilled.context["form"].initial["lora_versionid"] == "lora_watercolor_v2"


def test_a_second_view_is_served_from_the_cache_and_refresh_asks_again(connected):
    first = connected.get(reverse("catalog"))
    assert stats.calls("models/base") == 1
    assert "Fetched from Miaohua at" in first.content.decode()
    assert first.context["fetched_at"].strftime("%H:%M") in first.content.decode()
    assert 'href="?kind=base&amp;refresh=1"' in first.content.decode()

    connected.get(reverse("catalog"))
    assert stats.calls("models/base") == 1

    refreshed = connected.get(reverse("catalog"), {"kind": "base", "refresh": "1"})
    assert stats.calls("models/base") == 2
    assert refreshed.context["fetched_at"] > first.context["fetched_at"]
    connected.get(reverse("catalog"))
    assert stats.calls("models/base") == 2  # the refreshed answer is cached in turn


def test_it_searches_at_the_vendor(connected):
    response = connected.get(reverse("catalog"), {"kind": "lora", "q": "watercolour"})
    assert names(response) == ["Watercolor Wash"]  # the simulator matches the description too
    assert 'value="watercolour"' in response.content.decode()

    nothing = connected.get(reverse("catalog"), {"kind": "lora", "q": "no such style"})
    assert nothing.context["entries"] == [] and "Nothing matches “no such style”." in nothing.content.decode()
    assert stats.calls("models/lora") == 2


def test_it_pages_at_the_vendor(connected, monkeypatch):
    monkeypatch.setattr(views_catalog, "CATALOG_PER_PAGE", 3)

    first = connected.get(reverse("catalog"), {"kind": "lora"})
    second = connected.get(reverse("catalog"), {"kind": "lora", "page": "2"})
    last = connected.get(reverse("catalog"), {"kind": "lora", "page": "3"})

    assert len(names(first)) == len(names(second)) == 3 and len(names(last)) == 1
    assert len(set(names(first) + names(second) + names(last))) == 7
    assert 'href="?kind=lora&amp;page=2"' in first.content.decode() and "Previous" not in first.content.decode()
    assert 'href="?kind=lora&amp;page=4"' not in last.content.decode()
    assert 'href="?kind=lora&amp;page=2"' in last.content.decode()  # back
    assert stats.calls("models/lora") == 3


def test_search_and_paging_together(connected, monkeypatch):
    monkeypatch.setattr(views_catalog, "CATALOG_PER_PAGE", 1)
    first = connected.get(reverse("catalog"), {"kind": "lora", "q": "paper"})
    second = connected.get(reverse("catalog"), {"kind": "lora", "q": "paper", "page": "2"})
    assert names(first) + names(second) == ["Watercolor Wash", "Paper Cut"]  # "paper grain", "Paper Cut"
    assert 'href="?kind=lora&amp;q=paper&amp;page=2"' in first.content.decode()
    assert second.context["next_url"] == ""


def test_my_models_are_cached_per_account(connected, client, teammate, settings):
    settings.MIAOHUA_SIMULATOR_ACCOUNTS = "second@example.com:second"
    sim_catalog.ensure_seeded()
    SimModel.objects.create(
        kind=SimModel.Kind.PRIVATE,
        model_id=900,
        versionid="private_cat_lora_v1",
        model_name="Our cat",
        owner=SimAccount.objects.get(email="demo@example.com"),
    )
    mine = connected.get(reverse("catalog"), {"kind": "private"})
    assert names(mine) == ["Our cat"]
    assert f'href="{reverse("generate")}?lora=private_cat_lora_v1"' in mine.content.decode()

    upstream_account_store(user=teammate, email="second@example.com", password="second")
    client.force_login(teammate)
    theirs = client.get(reverse("catalog"), {"kind": "private"})
    assert theirs.context["entries"] == [] and "You have no models of your own yet." in theirs.content.decode()
    assert stats.calls("models/private") == 2  # not the owner's cached answer

    client.force_login(teammate)
    client.get(reverse("catalog"), {"kind": "private"})
    assert stats.calls("models/private") == 2


def test_both_controlnet_lists(connected):
    artist = connected.get(reverse("catalog"), {"kind": "cn_artist"})
    opensource = connected.get(reverse("catalog"), {"kind": "cn_opensource"})

    assert "lineart_anime" in names(artist) and "depth" not in names(artist)
    assert "depth" in names(opensource) and "lineart_anime" not in names(opensource)
    assert 'alt="Reference picture for canny"' in artist.content.decode()
    assert names(connected.get(reverse("catalog"), {"kind": "cn_opensource", "q": "sketch"})) == ["scribble"]
    assert stats.calls("cn/opensource") == 1


def test_an_unknown_kind_or_page_falls_back(connected):
    response = connected.get(reverse("catalog"), {"kind": "nonsense", "page": "-3"})
    assert response.status_code == 200 and response.context["kind"] == "base" and response.context["page"] == 1


def test_a_vendor_failure_is_a_readable_page(connected, settings):
    settings.MIAOHUA_API_BASE = "http://127.0.0.1:9/api/v1b/"

    response = connected.get(reverse("catalog"), {"kind": "lora"})  # the worker's refresh ran inline, and failed

    assert response.status_code == 200
    content = response.content.decode()
    assert response.context["results"].state == "error"
    assert "The catalog could not be loaded from Miaohua." in content and response.context["results"].error in content
    assert "Try again" in content and "retry=1" in content


def test_it_needs_a_connected_account(client, owner, simulator_url):
    assert is_login_page(client.get(reverse("catalog")))
    client.force_login(owner)
    response = client.get(reverse("catalog"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("upstream_settings"))


def test_my_models_follow_a_finished_training_on_every_page_and_search(connected, owner, monkeypatch):
    """The trained LoRA appears in the Catalog's "My models" too, not only in the Generate picker: dropping the
    private catalog drops every cached page and search of it (they are stored under the catalog's version)."""
    from generation import catalog as catalogs

    monkeypatch.setattr(views_catalog, "CATALOG_PER_PAGE", 1)
    sim_catalog.ensure_seeded()
    demo = SimAccount.objects.get(email="demo@example.com")
    SimModel.objects.create(
        kind=SimModel.Kind.PRIVATE, model_id=901, versionid="private_dog_v1", model_name="Our dog", owner=demo
    )
    assert names(connected.get(reverse("catalog"), {"kind": "private"})) == ["Our dog"]
    assert names(connected.get(reverse("catalog"), {"kind": "private", "q": "cat"})) == []

    SimModel.objects.create(
        kind=SimModel.Kind.PRIVATE, model_id=902, versionid="private_cat_v1", model_name="Our cat", owner=demo
    )
    calls = stats.calls("models/private")
    catalogs.forget_private_models(owner.upstream_account)  # what a finished training does

    assert names(connected.get(reverse("catalog"), {"kind": "private", "q": "cat"})) == ["Our cat"]
    both = names(connected.get(reverse("catalog"), {"kind": "private"})) + names(
        connected.get(reverse("catalog"), {"kind": "private", "page": "2"})
    )
    assert sorted(both) == ["Our cat", "Our dog"]
    assert stats.calls("models/private") > calls


def test_refresh_on_one_page_drops_the_other_pages_of_that_catalog(connected, monkeypatch):
    monkeypatch.setattr(views_catalog, "CATALOG_PER_PAGE", 3)
    connected.get(reverse("catalog"), {"kind": "lora"})
    connected.get(reverse("catalog"), {"kind": "lora", "page": "2"})
    connected.get(reverse("catalog"), {"kind": "base"})
    assert stats.calls("models/lora") == 2

    connected.get(reverse("catalog"), {"kind": "lora", "refresh": "1"})
    assert stats.calls("models/lora") == 3
    connected.get(reverse("catalog"), {"kind": "lora", "page": "2"})
    assert stats.calls("models/lora") == 4  # page 2 was dropped with the refresh: fetched again
    connected.get(reverse("catalog"), {"kind": "base"})
    assert stats.calls("models/base") == 1  # another catalog keeps its pages
