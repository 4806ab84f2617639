"""Saved searches: create (duplicate names, bad input: messages beside the field, input kept), personal vs shared
for the owner, a teammate, an outsider, a viewer and an admin; opening one applies its filters for the reader."""

from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from library import saved_searches, tags
from library.models import SavedSearch
from tests.library.library_helpers import set_sharing
from tests.library.test_history import ids, make_task

pytestmark = pytest.mark.django_db


def create(user, name="Foxes", *, query="q=fox", scope="history", shared=False) -> SavedSearch:
    return saved_searches.saved_search_create(user=user, name=name, scope=scope, query=query, is_shared=shared)


# --- Creating -----------------------------------------------------------------------------------------------------


def test_the_query_is_kept_as_the_filters_read_it_without_the_cursor(owner):
    search = create(owner, query="cursor=abc&q=fox&tag=Night+sky&tag=animals&bogus=1&fav=1")
    assert parse_qs(search.query) == {"q": ["fox"], "fav": ["1"], "tag": ["Night sky", "animals"]}


def test_save_this_search_over_htmx(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("saved_search_add"),
        {"name": "  Night  foxes ", "scope": "gallery", "query": "q=fox&tag=night", "is_shared": "on"},
        HTTP_HX_REQUEST="true",
    )
    text = response.content.decode()
    assert response.status_code == 200 and "<html" not in text and "Search “Night foxes” saved." in text
    search = SavedSearch.objects.get()
    assert (search.owner, search.name, search.scope, search.is_shared) == (owner, "Night foxes", "gallery", True)
    assert search.query == "q=fox&tag=night"


def test_a_duplicate_name_gets_a_message_beside_the_field_and_keeps_the_input(client, owner):
    create(owner, "Foxes")
    client.force_login(owner)
    data = {"name": "Foxes", "scope": "history", "query": "q=red+fox", "is_shared": "on"}
    response = client.post(reverse("saved_search_add"), data, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200 and "You already have a saved search named “Foxes”." in text
    assert 'value="Foxes"' in text and 'value="q=red+fox"' in text and "checked" in text
    response = client.post(reverse("saved_search_add"), data)
    assert response.status_code == 400 and "You already have a saved search named" in response.content.decode()
    assert SavedSearch.objects.count() == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": ""}, "This field is required."),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"name": "ok", "scope": "trash"}, "Save a search of My history or of the team gallery."),
        ({"name": "ok", "query": "tag=" + "x" * 80}, "at most 50 characters"),
        ({"name": "ok", "query": "from=2026-02-31"}, "2026-02-31"),
    ],
)
def test_bad_input_gets_a_message_and_nothing_is_saved(client, owner, data, message):
    client.force_login(owner)
    response = client.post(reverse("saved_search_add"), {"scope": "history", "query": "q=fox", **data})
    assert response.status_code == 400 and message in response.content.decode()
    assert not SavedSearch.objects.exists()


def test_a_viewer_saves_nothing(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("saved_search_add"), {"name": "x", "scope": "gallery", "query": ""})
    assert response.status_code == 403 and not SavedSearch.objects.exists()


# --- Who sees, opens, edits and deletes ---------------------------------------------------------------------------


@pytest.fixture
def two(owner):
    return create(owner, "Mine only"), create(owner, "For the team", shared=True, scope="gallery")


def test_the_owner_and_others_see_what_they_should(owner, teammate, outsider, viewer, admin_user, two):
    personal, shared = two
    assert list(saved_searches.saved_searches_visible_to(owner)) == [shared, personal]
    for other in (teammate, outsider, viewer, admin_user):
        assert list(saved_searches.saved_searches_visible_to(other)) == [shared]


@pytest.mark.parametrize("who", ["teammate", "outsider", "viewer", "admin_user"])
def test_a_personal_search_is_a_404_for_everyone_else_a_shared_one_opens(client, request, who, two):
    personal, shared = two
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("saved_search_open", args=[personal.pk])).status_code == 404
    assert client.get(reverse("saved_search_open", args=[shared.pk])).status_code == 302
    for search in (personal, shared):
        assert client.get(reverse("saved_search_edit", args=[search.pk])).status_code in (403, 404)
        assert client.post(reverse("saved_search_edit", args=[search.pk]), {"name": "x"}).status_code in (403, 404)
        assert client.post(reverse("saved_search_delete", args=[search.pk])).status_code in (403, 404)
    assert SavedSearch.objects.filter(name__in=["Mine only", "For the team"]).count() == 2


def test_visitors_are_sent_to_sign_in(client, two):
    response = client.get(reverse("saved_search_open", args=[two[0].pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_owner_renames_shares_and_deletes(client, owner, two):
    personal, shared = two
    client.force_login(owner)
    url = reverse("saved_search_edit", args=[personal.pk])
    assert client.get(url).status_code == 200
    assert client.get(url, HTTP_HX_REQUEST="true").content.decode().lstrip().startswith("<form")
    response = client.post(url, {"name": "For the team"})
    assert response.status_code == 400 and "You already have a saved search named" in response.content.decode()
    assert 'value="For the team"' in response.content.decode()
    assert client.post(url, {"name": "Renamed", "is_shared": "on"}).status_code == 302
    personal.refresh_from_db()
    assert (personal.name, personal.is_shared) == ("Renamed", True)
    client.post(reverse("saved_search_delete", args=[shared.pk]))
    assert list(SavedSearch.objects.values_list("name", flat=True)) == ["Renamed"]


# --- Opening applies its filters, for the reader ------------------------------------------------------------------


def test_opening_one_applies_its_filters_and_the_reader_sees_only_what_they_may(client, owner, teammate, outsider):
    mine = make_task(owner, "a red fox")
    make_task(owner, "a lighthouse")
    theirs = make_task(teammate, "a fox in the snow")
    set_sharing(outsider, False)
    hidden = make_task(outsider, "a secret fox")
    for user, task in ((owner, mine), (teammate, theirs), (outsider, hidden)):
        tags.tags_add(user=user, task_ids=[task.pk], names=["fox"])
    search = create(owner, "Foxes", query="tag=fox", scope="gallery", shared=True)

    client.force_login(teammate)
    response = client.get(reverse("saved_search_open", args=[search.pk]))
    assert response["Location"] == reverse("gallery") + "?tag=fox"
    assert sorted(ids(client.get(response["Location"]))) == sorted([mine.pk, theirs.pk])
    client.force_login(outsider)
    assert sorted(ids(client.get(reverse("gallery") + "?tag=fox"))) == sorted([mine.pk, theirs.pk, hidden.pk])

    history = create(owner, "My foxes", query="q=fox")
    client.force_login(owner)
    response = client.get(reverse("saved_search_open", args=[history.pk]), follow=True)
    assert ids(response) == [mine.pk]


# --- Listed beside collections and on the history page ------------------------------------------------------------


def test_the_collections_page_lists_them_marked(client, owner, teammate, two):
    create(teammate, "Their personal")
    create(teammate, "Their shared", shared=True)
    client.force_login(owner)
    text = client.get(reverse("collection_list")).content.decode()
    assert "Saved searches" in text and "Mine only" in text and "For the team" in text
    assert "Their shared" in text and "shared by teammate" in text and "Their personal" not in text
    assert reverse("saved_search_edit", args=[two[0].pk]) in text


def test_the_history_page_offers_to_save_and_lists_its_scopes_searches(client, owner, two):
    client.force_login(owner)
    text = client.get(reverse("history")).content.decode()
    assert "Mine only" in text and "For the team" not in text  # a gallery search is listed on the gallery
    assert "Save this search" not in text  # nothing filtered: nothing to save
    text = client.get(reverse("history"), {"q": "fox", "tag": "night"}).content.decode()
    assert "Save this search" in text and 'name="query" value="q=fox&amp;tag=night"' in text
    assert "For the team" in client.get(reverse("gallery")).content.decode()


def test_the_list_page(client, owner, two):
    client.force_login(owner)
    response = client.get(reverse("saved_search_list"))
    assert response.status_code == 200 and "Mine only" in response.content.decode()
