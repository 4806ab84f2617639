"""Tags: normalising, bulk add and remove on the tasks one may change, suggestions that never leak, filtering by
tags (the URL's tag=… and the search box's tag:/#), the tiles' badges at a fixed query count, the editor."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from library import tags
from library import views as library_views
from library.models import Tag, TaskTag
from tests.library.library_helpers import set_sharing
from tests.library.test_history import ids, make_task, next_cursor

pytestmark = pytest.mark.django_db


def names_on(task) -> list[str]:
    return sorted(TaskTag.objects.filter(task=task).values_list("tag__name", flat=True))


# --- Normalising --------------------------------------------------------------------------------------------------


def test_a_tag_is_trimmed_and_its_spaces_folded():
    assert tags.normalise("  golden   hour ") == "golden hour"
    assert Tag.key_of("Golden  Hour") == "golden hour"


@pytest.mark.parametrize(
    "typed, message",
    [
        ("", "Type a tag."),
        ("   ", "Type a tag."),
        ("x" * 51, "at most 50 characters"),
        ("a,b", "comma"),
    ],
)
def test_a_bad_tag_is_refused_with_a_message(typed, message):
    with pytest.raises(tags.TagRefused, match=message):
        tags.normalise(typed)


def test_several_tags_are_typed_with_commas_and_each_comes_once():
    assert tags.parse_names("fox, Fox ,  night sky,,") == ["fox", "night sky"]
    with pytest.raises(tags.TagRefused, match="Type a tag"):
        tags.parse_names(" , ,")


# --- Bulk add and remove ------------------------------------------------------------------------------------------


def test_bulk_add_touches_only_my_tasks_and_says_how_many(client, owner, teammate):
    mine = [make_task(owner, f"mine {n}") for n in range(2)]
    theirs = make_task(teammate, "theirs")
    client.force_login(owner)
    response = client.post(
        reverse("tasks_tag"),
        {"task": [mine[0].pk, mine[1].pk, theirs.pk], "names": "Fox, dusk", "action": "add"},
        follow=True,
    )
    assert [names_on(task) for task in mine] == [["Fox", "dusk"], ["Fox", "dusk"]]
    assert names_on(theirs) == []
    text = response.content.decode()
    assert "Tagged 2 tasks." in text and "1 selected task is not yours to tag." in text


def test_the_same_tag_twice_is_one_tag_shown_as_first_typed(owner):
    a, b = make_task(owner), make_task(owner)
    tags.tags_add(user=owner, task_ids=[a.pk], names=["Portrait"])
    tags.tags_add(user=owner, task_ids=[a.pk, b.pk], names=["portrait "])
    assert Tag.objects.count() == 1 and names_on(a) == names_on(b) == ["Portrait"]


def test_bulk_remove_takes_the_tag_off_and_a_dead_tag_goes(client, owner, teammate):
    a, b = make_task(owner), make_task(owner)
    theirs = make_task(teammate)
    tags.tags_add(user=owner, task_ids=[a.pk, b.pk], names=["fox", "keep"])
    tags.tags_add(user=teammate, task_ids=[theirs.pk], names=["fox"])
    client.force_login(owner)
    client.post(reverse("tasks_tag"), {"task": [a.pk, b.pk, theirs.pk], "names": "FOX", "action": "remove"})
    assert names_on(a) == names_on(b) == ["keep"] and names_on(theirs) == ["fox"]
    tags.tags_remove(user=teammate, task_ids=[theirs.pk], names=["fox"])
    assert list(Tag.objects.values_list("key", flat=True)) == ["keep"]


def test_admins_tag_anyones_task(owner, admin_user):
    task = make_task(owner)
    assert tags.tags_add(user=admin_user, task_ids=[task.pk], names=["checked"]) == 1
    assert names_on(task) == ["checked"]


def test_a_viewer_tags_nothing(client, owner, viewer):
    task = make_task(viewer)
    assert tags.tags_add(user=viewer, task_ids=[task.pk], names=["x"]) == 0
    client.force_login(viewer)
    assert client.post(reverse("tasks_tag"), {"task": task.pk, "names": "x"}).status_code == 403
    assert client.post(reverse("task_tags", args=[task.pk]), {"names": "x"}).status_code == 403
    assert names_on(task) == []


def test_a_refused_bulk_tag_keeps_what_was_typed_beside_the_field(client, owner):
    task = make_task(owner)
    client.force_login(owner)
    response = client.post(
        reverse("tasks_tag"), {"task": task.pk, "names": "a" * 60, "action": "add"}, HTTP_HX_REQUEST="true"
    )
    text = response.content.decode()
    assert response.status_code == 200 and 'id="bulk-tag"' in text
    assert "at most 50 characters" in text and 'value="' + "a" * 60 + '"' in text
    assert "<html" not in text


def test_a_bulk_tag_over_htmx_reloads_the_page(client, owner):
    task = make_task(owner)
    client.force_login(owner)
    response = client.post(reverse("tasks_tag"), {"task": task.pk, "names": "fox"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Refresh"] == "true"


def test_nothing_selected_says_so(client, owner):
    client.force_login(owner)
    response = client.post(reverse("tasks_tag"), {"names": "fox"}, follow=True)
    assert "Select the tasks to tag first." in response.content.decode()


# --- Suggestions never leak ---------------------------------------------------------------------------------------


def test_suggestions_come_from_what_the_reader_sees_most_used_first(owner, teammate, outsider, admin_user):
    shared = [make_task(teammate) for _ in range(3)]
    tags.tags_add(user=teammate, task_ids=[t.pk for t in shared], names=["landscape"])
    tags.tags_add(user=teammate, task_ids=[shared[0].pk], names=["lake"])
    set_sharing(outsider, False)
    secret = make_task(outsider)
    tags.tags_add(user=outsider, task_ids=[secret.pk], names=["secret project", "landscape"])

    assert [s["name"] for s in tags.suggestions(owner)] == ["landscape", "lake"]
    assert tags.suggestions(owner)[0]["n"] == 3  # the unshared task's use is not counted either
    assert [s["name"] for s in tags.suggestions(owner, "la")] == ["landscape", "lake"]
    assert tags.suggestions(teammate, "secret") == []
    assert [s["name"] for s in tags.suggestions(outsider, "s")] == ["secret project"]
    assert "secret project" in [s["name"] for s in tags.suggestions(admin_user)]


def test_suggestions_of_a_trashed_task_are_not_offered(owner):
    from library import trash

    task = make_task(owner)
    tags.tags_add(user=owner, task_ids=[task.pk], names=["gone"])
    trash.tasks_delete(user=owner, task_ids=[task.pk])
    assert tags.suggestions(owner) == []


def test_the_suggestions_url_answers_options_for_a_datalist(client, owner, teammate):
    set_sharing(teammate, False)
    tags.tags_add(user=teammate, task_ids=[make_task(teammate).pk], names=["hidden"])
    tags.tags_add(user=owner, task_ids=[make_task(owner).pk], names=["fox", "forest"])
    client.force_login(owner)
    text = client.get(reverse("tag_suggestions"), {"names": "dusk, fo"}).content.decode()
    assert sorted(re.findall(r'<option value="([^"]+)">', text)) == ["forest", "fox"]
    assert "hidden" not in client.get(reverse("tag_suggestions")).content.decode()


# --- Filtering and search -----------------------------------------------------------------------------------------


@pytest.fixture
def tagged(owner):
    fox = make_task(owner, "a red fox", minutes_ago=3)
    both = make_task(owner, "a red fox at night", minutes_ago=2)
    night = make_task(owner, "a night sky", minutes_ago=1)
    tags.tags_add(user=owner, task_ids=[fox.pk, both.pk], names=["animals"])
    tags.tags_add(user=owner, task_ids=[both.pk, night.pk], names=["Night Sky"])
    return fox, both, night


def test_filter_by_one_tag_and_by_two(client, owner, tagged):
    fox, both, night = tagged
    client.force_login(owner)
    assert ids(client.get(reverse("history"), {"tag": "animals"})) == [both.pk, fox.pk]
    assert ids(client.get(reverse("history"), {"tag": ["animals", "night  sky"]})) == [both.pk]


@pytest.mark.parametrize("q", ['tag:animals tag:"night sky"', "#animals #Night tag:nothing", "#animals fox night"])
def test_tags_in_the_search_box(client, owner, tagged, q):
    fox, both, night = tagged
    client.force_login(owner)
    expected = [] if "nothing" in q else [both.pk]
    response = client.get(reverse("history"), {"q": q})
    assert ids(response) == expected
    assert f'value="{q}"'.replace('"night sky"', "&quot;night sky&quot;") in response.content.decode()


def test_a_tag_in_the_box_and_plain_words_search_together(client, owner, tagged):
    fox, both, night = tagged
    client.force_login(owner)
    assert ids(client.get(reverse("history"), {"q": "tag:animals night"})) == [both.pk]
    assert ids(client.get(reverse("history"), {"q": "#Night"})) == []  # "night" is not a tag; "night sky" is


def test_a_bad_tag_filter_gets_a_message_not_a_500(client, owner, tagged):
    client.force_login(owner)
    response = client.get(reverse("history"), {"tag": "x" * 80})
    assert response.status_code == 200 and ids(response) == []
    assert "at most 50 characters" in response.content.decode()
    assert client.get(reverse("history"), {"tag": "a\x00b"}).status_code == 400


def test_the_gallery_filters_by_a_teammates_tag_but_not_an_unshared_one(client, owner, teammate, outsider):
    theirs = make_task(teammate)
    set_sharing(outsider, False)
    hidden = make_task(outsider)
    tags.tags_add(user=teammate, task_ids=[theirs.pk], names=["team"])
    tags.tags_add(user=outsider, task_ids=[hidden.pk], names=["team"])
    client.force_login(owner)
    assert ids(client.get(reverse("gallery"), {"tag": "team"})) == [theirs.pk]


def test_the_filter_bar_offers_the_most_used_tags_and_a_chip_to_remove_one(client, owner, tagged):
    client.force_login(owner)
    text = client.get(reverse("history")).content.decode()
    assert "#animals" in text and "#Night Sky" in text
    text = client.get(reverse("history"), {"tag": "animals", "model": "m"}).content.decode()
    assert 'href="?model=m"' in text  # the chip's × keeps the other filters
    assert '<input type="hidden" name="tag" value="animals">' in text  # the filter form keeps the tag


def test_the_next_page_keeps_the_tag(client, owner, monkeypatch):
    monkeypatch.setattr(library_views, "PAGE_SIZE", 2)
    made = [make_task(owner, f"t{n}", minutes_ago=n) for n in range(5)]
    tags.tags_add(user=owner, task_ids=[t.pk for t in made[1:]], names=["x"])
    client.force_login(owner)
    first = client.get(reverse("history"), {"tag": "x"})
    second = client.get(reverse("history"), {"tag": "x", "cursor": next_cursor(first)}, HTTP_HX_REQUEST="true")
    assert ids(first) + ids(second) == [t.pk for t in made[1:]]


# --- The tiles' badges and the query count ------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["history", "gallery"])
def test_a_page_with_tags_costs_no_query_more_whatever_its_size(client, owner, monkeypatch, url_name):
    made = [make_task(owner, f"t{n}", minutes_ago=n, images=2) for n in range(40)]
    client.force_login(owner)

    def count(size, **params):
        monkeypatch.setattr(library_views, "PAGE_SIZE", size)
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(url_name), params)
        assert len(ids(response)) == size
        return len(queries), response.content.decode()

    untagged, _ = count(5)
    tags.tags_add(user=owner, task_ids=[t.pk for t in made], names=["alpha", "beta"])
    small, text = count(5)
    large, _ = count(30)
    assert small == large == untagged
    assert text.count(">alpha</a>") == 5 and text.count(">beta</a>") == 5
    assert count(5, tag="alpha")[0] == small


# --- The editor (image viewer, task page) -------------------------------------------------------------------------


def test_the_viewer_edits_the_tags_of_my_task_over_htmx(client, owner):
    task = make_task(owner)
    image = task.images.first()
    client.force_login(owner)
    text = client.get(reverse("image_detail", args=[image.pk])).content.decode()
    assert f'id="tags-{task.pk}"' in text and "No tags yet." in text and 'name="names"' in text
    url = reverse("task_tags", args=[task.pk])
    response = client.post(url, {"action": "add", "names": "fox, Dusk"}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200 and "<html" not in text and ">fox</a>" in text and ">Dusk</a>" in text
    response = client.post(url, {"action": "remove", "name": "dusk"}, HTTP_HX_REQUEST="true")
    assert names_on(task) == ["fox"]
    response = client.post(url, {"action": "add", "names": "   "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Type a tag." in response.content.decode()
    response = client.post(url, {"action": "add", "names": "a" * 70})
    assert response.status_code == 400 and 'value="' + "a" * 70 + '"' in response.content.decode()


def test_a_teammate_sees_my_tags_but_gets_no_editor_and_cannot_post(client, owner, teammate):
    task = make_task(owner)
    tags.tags_add(user=owner, task_ids=[task.pk], names=["fox"])
    client.force_login(teammate)
    text = client.get(reverse("image_detail", args=[task.images.first().pk])).content.decode()
    assert ">fox</a>" in text and 'name="names"' not in text
    assert client.post(reverse("task_tags", args=[task.pk]), {"names": "mine"}).status_code == 404
    assert client.get(reverse("task_tags", args=[task.pk])).status_code == 200
    assert names_on(task) == ["fox"]


def test_an_outsider_sees_nothing_of_an_unshared_task(client, owner, outsider):
    set_sharing(owner, False)
    task = make_task(owner)
    client.force_login(outsider)
    assert client.get(reverse("task_tags", args=[task.pk])).status_code == 404
    assert client.post(reverse("task_tags", args=[task.pk]), {"names": "x"}).status_code == 404


def test_the_task_page_loads_the_editor(client, owner):
    task = make_task(owner)
    client.force_login(owner)
    text = client.get(reverse("task_detail", args=[task.pk])).content.decode()
    assert f'hx-get="{reverse("task_tags", args=[task.pk])}"' in text
