"""The trash page: the most recently deleted tasks first, keyset-paged like history (the next page is an htmx
fragment from a cursor), restored from whichever page they were shown on, and only ever the viewer's own."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generation.models import GenerationTask
from library import selectors
from library import views as library_views
from tests.library.test_history import FORGED_CURSORS, make_task, next_cursor

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def deleted(owner, count, *, days_ago=0.0, images=0, prompt="deleted"):
    """``count`` tasks of ``owner`` deleted together (one delete stamps them all with the same moment)."""
    tasks = [make_task(owner, f"{prompt} {n}", images=images) for n in range(count)]
    moment = timezone.now() - timedelta(days=days_ago)
    GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).update(deleted_at=moment)
    return tasks


def newest_deleted_first(*groups):
    """The order the trash shows: the latest delete first, and within one delete the highest id first."""
    return [task.pk for group in reversed(groups) for task in sorted(group, key=lambda t: -t.pk)]


def shown(response) -> list[int]:
    """The tasks a trash page or fragment offers to restore, in order."""
    return [int(pk) for pk in re.findall(r'name="task" value="(\d+)" form="restore"', response.content.decode())]


def walk(client) -> list[int]:
    """Every task of the trash, as a person scrolling to the end sees them: the page, then each fragment."""
    response = client.get(reverse("trash"))
    seen, cursor = shown(response), next_cursor(response)
    while cursor:
        response = client.get(reverse("trash"), {"cursor": cursor}, **HTMX)
        assert "<html" not in response.content.decode()
        seen, cursor = seen + shown(response), next_cursor(response)
    return seen


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def test_the_first_page_holds_the_48_most_recently_deleted_tasks(signed_in, owner):
    groups = [deleted(owner, 10, days_ago=days) for days in (5, 4, 3, 2, 1)]
    make_task(owner, "still in my history")

    response = signed_in.get(reverse("trash"))

    assert library_views.TRASH_PAGE_SIZE == 48
    assert shown(response) == newest_deleted_first(*groups)[:48]
    assert next_cursor(response)
    page = response.content.decode()
    assert "50 deleted tasks, most recently deleted first." in page
    assert "Deleted tasks stay here for 30 days" in page
    assert page.count("Loading more…") == 1


def test_a_row_shows_the_task_and_its_first_thumbnail(signed_in, owner):
    (task,) = deleted(owner, 1, images=2, prompt="a lighthouse at dusk")
    page = signed_in.get(reverse("trash")).content.decode()
    assert "a lighthouse at dusk 0" in page and "Artist v0.3.5" in page and "deleted now" in page
    first = task.images.get(save_index=0)
    assert page.count("/thumb") == 1 and reverse("image_file", args=[first.pk, "thumb"]) in page


def test_a_row_says_how_long_ago_it_was_deleted_in_words(signed_in, owner):
    deleted(owner, 1, days_ago=2, prompt="older")
    deleted(owner, 1, days_ago=1 / 24 / 60 * 5, prompt="recent")
    page = signed_in.get(reverse("trash")).content.decode()
    assert "deleted 5\xa0minutes ago" in page and "deleted 2\xa0days ago" in page


def test_what_can_no_longer_be_restored_is_not_shown(signed_in, owner):
    kept = deleted(owner, 1, days_ago=selectors.TRASH_DAYS - 1)
    deleted(owner, 1, days_ago=selectors.TRASH_DAYS + 1)  # waiting for tonight's purge
    assert walk(signed_in) == [kept[0].pk]
    assert "1 deleted task, most recently" in signed_in.get(reverse("trash")).content.decode()


def test_the_fragments_continue_from_the_cursor_without_repeats_or_gaps(signed_in, owner, monkeypatch):
    monkeypatch.setattr(library_views, "TRASH_PAGE_SIZE", 5)
    # Deletes of 4, 7 and 6 tasks: pages of 5 end in the middle of a delete, where deleted_at is a tie.
    groups = [deleted(owner, n, days_ago=days) for n, days in ((4, 3), (7, 2), (6, 1))]
    assert walk(signed_in) == newest_deleted_first(*groups)


def test_a_delete_or_restore_meanwhile_does_not_shift_the_next_page(signed_in, owner, monkeypatch):
    monkeypatch.setattr(library_views, "TRASH_PAGE_SIZE", 3)
    groups = [deleted(owner, 4, days_ago=2), deleted(owner, 4, days_ago=1)]
    expected = newest_deleted_first(*groups)
    response = signed_in.get(reverse("trash"))
    assert shown(response) == expected[:3]

    deleted(owner, 2, prompt="deleted meanwhile")  # the newest: the top of the trash, not the next page
    signed_in.post(reverse("tasks_restore"), {"task": [expected[0]]})

    fragment = signed_in.get(reverse("trash"), {"cursor": next_cursor(response)}, **HTMX)
    assert shown(fragment) == expected[3:6]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
def test_a_forged_cursor_gives_the_first_page(signed_in, owner, cursor):
    tasks = deleted(owner, 2)
    for headers in ({}, HTMX):
        response = signed_in.get(reverse("trash"), {"cursor": cursor}, **headers)
        assert response.status_code == 200
        assert shown(response) == newest_deleted_first(tasks)


def test_a_cursor_past_the_end_says_so_and_links_back_to_the_top(signed_in, owner):
    deleted(owner, 2)
    beyond = selectors.keyset_cursor(timezone.now() - timedelta(days=400), 1)
    page = signed_in.get(reverse("trash"), {"cursor": beyond})
    assert page.status_code == 200 and shown(page) == []
    assert "Nothing was deleted before this point." in page.content.decode()
    fragment = signed_in.get(reverse("trash"), {"cursor": beyond}, **HTMX)
    assert fragment.status_code == 200 and fragment.content.decode().strip() == ""


def test_the_page_and_the_fragment_cost_the_same_whatever_is_in_the_trash(signed_in, owner, monkeypatch):
    def count(**params):
        with CaptureQueriesContext(connection) as queries:
            response = signed_in.get(reverse("trash"), params, **(HTMX if params else {}))
        assert response.status_code == 200 and shown(response)
        return len(queries), next_cursor(response)

    monkeypatch.setattr(library_views, "TRASH_PAGE_SIZE", 2)
    deleted(owner, 3, images=1)
    small_page, cursor = count()
    small_fragment, _ = count(cursor=cursor)

    monkeypatch.setattr(library_views, "TRASH_PAGE_SIZE", 48)
    for days in range(4):
        deleted(owner, 20, days_ago=days, images=3)
    large_page, cursor = count()
    large_fragment, _ = count(cursor=cursor)

    assert small_page == large_page == 5  # the user, the tasks, their images, the count, the nav's queue badge
    assert small_fragment == large_fragment == 3  # the user, the tasks, their images


def test_restore_from_the_second_page_brings_those_tasks_back(signed_in, owner, monkeypatch):
    monkeypatch.setattr(library_views, "TRASH_PAGE_SIZE", 3)
    expected = newest_deleted_first(deleted(owner, 7))
    first = signed_in.get(reverse("trash"))
    assert 'id="restore"' in first.content.decode()  # the form the fragments' checkboxes belong to
    second = shown(signed_in.get(reverse("trash"), {"cursor": next_cursor(first)}, **HTMX))
    assert second == expected[3:6]

    response = signed_in.post(reverse("tasks_restore"), {"task": second[:2]})

    assert response.status_code == 302 and response["Location"] == reverse("trash")
    back = set(selectors.own_tasks(owner).values_list("pk", flat=True))
    assert back == set(second[:2])
    assert walk(signed_in) == [pk for pk in expected if pk not in back]


def test_another_members_trash_never_shows_and_cannot_be_restored_through_the_page(
    client, owner, teammate, outsider, monkeypatch
):
    monkeypatch.setattr(library_views, "TRASH_PAGE_SIZE", 2)
    mine = newest_deleted_first(deleted(owner, 5, prompt="the owner's"))
    client.force_login(owner)
    owners_cursor = next_cursor(client.get(reverse("trash")))
    theirs = deleted(teammate, 1, prompt="the teammate's")

    for member in (teammate, outsider):
        client.force_login(member)
        assert set(walk(client)) <= {theirs[0].pk}
        fragment = client.get(reverse("trash"), {"cursor": owners_cursor}, **HTMX)
        assert fragment.status_code == 200 and "the owner&#x27;s" not in fragment.content.decode()
        assert not set(shown(fragment)) & set(mine)
        client.post(reverse("tasks_restore"), {"task": mine})
    assert not selectors.own_tasks(owner).exists()

    client.force_login(owner)
    assert walk(client) == mine  # nor does the teammate's trash show in the owner's


def test_the_thumbnails_of_the_trash_are_served_to_the_owner_alone(client, owner, teammate, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (task,) = deleted(owner, 1, images=1)
    (expired,) = deleted(owner, 1, images=1, days_ago=selectors.TRASH_DAYS + 1)
    image, gone = task.images.get(), expired.images.get()
    client.force_login(owner)
    assert reverse("image_file", args=[image.pk, "thumb"]) in client.get(reverse("trash")).content.decode()

    assert client.get(reverse("image_file", args=[image.pk, "thumb"])).status_code == 200
    assert client.get(reverse("image_file", args=[image.pk, "original"])).status_code == 404  # only what it shows
    assert client.get(reverse("image_file", args=[gone.pk, "thumb"])).status_code == 404
    client.force_login(teammate)  # the owner shares with the team, but a deleted task is nobody else's to see
    assert client.get(reverse("image_file", args=[image.pk, "thumb"])).status_code == 404
