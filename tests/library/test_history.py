"""My history and the team gallery: search, filters in the URL, keyset paging, soft delete, the visibility matrix."""

import base64
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generation.models import GeneratedImage, GenerationTask
from library import selectors, trash
from library import views as library_views
from library.models import MemberSettings

State = GenerationTask.State
pytestmark = pytest.mark.django_db


def make_task(owner, prompt="a red fox", *, minutes_ago=0, images=1, **fields):
    defaults = {
        "state": State.DONE,
        "versionid": "sgl_artist_v0.3.5_0925",
        "model_name": "Artist v0.3.5",
        "output_size": "640x640",
        "select_seed": 7,
        "n_images": images,
        "params": {"prompt": prompt},
    }
    defaults.update(fields)
    task = GenerationTask.objects.create(
        owner=owner, prompt=prompt, created_at=timezone.now() - timedelta(minutes=minutes_ago), **defaults
    )
    for index in range(images):
        image = GeneratedImage(task=task, save_index=index, width=640, height=640, seed=7)
        image.thumbnail.save(f"t{task.pk}-{index}.webp", ContentFile(b"RIFF....WEBPVP8 "), save=False)
        image.file.save(f"o{task.pk}-{index}.png", ContentFile(b"\x89PNG...."), save=False)
        image.save()
    return task


def ids(response):
    """The tasks shown, in order, as the page (or fragment) renders them."""
    return [
        int(pk) for pk in re.findall(r'<article class="tile[^"]*" aria-label="Task (\d+)"', response.content.decode())
    ]


def next_cursor(response) -> str:
    found = re.search(r'cursor=([A-Za-z0-9_-]+)"', response.content.decode())
    return found.group(1) if found else ""


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def test_it_lists_my_tasks_newest_first_with_their_details(signed_in, owner, teammate):
    old = make_task(owner, "an old lighthouse", minutes_ago=10)
    new = make_task(owner, "a new kite", minutes_ago=1, select_seed=4242)
    make_task(teammate, "not mine")
    response = signed_in.get(reverse("history"))
    assert ids(response) == [new.pk, old.pk]
    page = response.content.decode()
    assert "a new kite" in page and "#4242" in page and "640x640" in page and "Artist v0.3.5" in page


def test_search_finds_words_in_the_prompt_and_the_negative_prompt(signed_in, owner):
    lighthouse = make_task(owner, "a lighthouse at dusk")
    fox = make_task(owner, "a red fox", neg_prompt="lighthouse")
    make_task(owner, "a blue whale")
    assert set(ids(signed_in.get(reverse("history"), {"q": "lighthouse"}))) == {lighthouse.pk, fox.pk}
    assert ids(signed_in.get(reverse("history"), {"q": "light dusk"})) == [lighthouse.pk]  # every word, as a prefix
    assert ids(signed_in.get(reverse("history"), {"q": "zebra"})) == []
    assert ids(signed_in.get(reverse("history"), {"q": '"); DROP TABLE x; --'})) == []  # quotes are harmless


def test_search_follows_an_edited_prompt(owner):
    task = make_task(owner, "before")
    GenerationTask.objects.filter(pk=task.pk).update(prompt="after")
    assert list(selectors.search(GenerationTask.objects.all(), "after")) == [task]
    assert not selectors.search(GenerationTask.objects.all(), "before").exists()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"model": "sdxl"}, {"sdxl"}),
        ({"lora": "lora_ink"}, {"lora"}),
        ({"cn": "canny"}, {"canny", "two_cn"}),
        ({"cn": "tile"}, {"two_cn"}),
        ({"kind": "img2img"}, {"i2i"}),
        ({"state": "failed"}, {"failed"}),
        ({"fav": "1"}, {"fav"}),
        ({"from": "2020-01-01", "to": "2020-01-31"}, {"old"}),
    ],
)
def test_each_filter(signed_in, owner, params, expected):
    named = {
        "sdxl": make_task(owner, versionid="sdxl"),
        "lora": make_task(owner, lora_versionid="lora_ink"),
        "canny": make_task(owner, cn_types="canny"),
        "two_cn": make_task(owner, cn_types="tile,canny"),
        "i2i": make_task(owner, kind="img2img"),
        "failed": make_task(owner, state=State.FAILED, images=0),
        "fav": make_task(owner, is_favourite=True),
        "old": make_task(owner, minutes_ago=60 * 24 * 365 * 6),
    }
    GenerationTask.objects.filter(pk=named["old"].pk).update(created_at="2020-01-15T12:00:00Z")
    found = set(ids(signed_in.get(reverse("history"), params)))
    assert found == {named[name].pk for name in expected}


@pytest.mark.parametrize("value", ["2026-02-31", "2026-13-01", "0001-01-01", "9999-12-31"])
def test_an_impossible_date_or_one_at_the_calendars_edge_gets_a_message(signed_in, owner, value):
    make_task(owner)
    for key in ("from", "to"):
        response = signed_in.get(reverse("history"), {key: value})
        assert response.status_code == 200 and "Use a date like 2026-11-24." in response.content.decode()


def test_a_bad_date_gets_a_message_beside_it(signed_in, owner):
    make_task(owner)
    response = signed_in.get(reverse("history"), {"from": "yesterday", "q": "fox"})
    assert "Use a date like 2026-11-24." in response.content.decode()
    assert 'value="fox"' in response.content.decode()  # the other filters stay as typed
    response = signed_in.get(reverse("history"), {"from": "2026-02-01", "to": "2026-01-01"})
    assert "The end date is before the start date." in response.content.decode()


def test_filters_live_in_the_url_of_the_next_page(signed_in, owner, monkeypatch):
    monkeypatch.setattr(library_views, "PAGE_SIZE", 2)
    for n in range(3):
        make_task(owner, f"fox {n}", minutes_ago=n)
    page = signed_in.get(reverse("history"), {"q": "fox", "fav": ""}).content.decode()
    assert 'hx-get="?q=fox&amp;fav=&amp;cursor=' in page


def test_keyset_paging_has_no_duplicates_or_gaps_while_new_tasks_arrive(signed_in, owner, monkeypatch):
    monkeypatch.setattr(library_views, "PAGE_SIZE", 5)
    made = [make_task(owner, f"task {n}", minutes_ago=100 - n, images=0) for n in range(12)]
    seen, cursor = [], ""
    while True:
        response = signed_in.get(reverse("history"), {"cursor": cursor} if cursor else {}, HTTP_HX_REQUEST="true")
        seen += ids(response)
        make_task(owner, "arrived meanwhile", images=0)  # new work must not shift the pages
        cursor = next_cursor(response)
        if not cursor:
            break
    assert seen == [t.pk for t in reversed(made)]


def test_the_next_page_is_a_fragment(signed_in, owner, monkeypatch):
    monkeypatch.setattr(library_views, "PAGE_SIZE", 1)
    make_task(owner, "first", minutes_ago=2)
    make_task(owner, "second", minutes_ago=1)
    cursor = next_cursor(signed_in.get(reverse("history")))
    fragment = signed_in.get(reverse("history"), {"cursor": cursor}, HTTP_HX_REQUEST="true").content.decode()
    assert "first" in fragment and "<html" not in fragment


def forged(raw: str) -> str:
    """A cursor as the pages write them (base64 of "moment|id"), around whatever a visitor typed."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


FORGED_CURSORS = [
    "%%%not-base64",
    forged("yesterday|7"),
    forged("2026-01-01T00:00:00|7"),  # no time zone
    forged("9999-12-31T23:59:59-23:59|7"),  # past the end of the calendar once in UTC
    forged("0001-01-01T00:00:00+14:00|7"),
    forged("2026-01-01T00:00:00+00:00|seven"),
]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
def test_a_broken_cursor_starts_from_the_top(signed_in, owner, cursor):
    task = make_task(owner)
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = signed_in.get(reverse("history"), {"cursor": cursor}, **headers)
        assert response.status_code == 200 and ids(response) == [task.pk]


@pytest.mark.parametrize("url_name", ["history", "gallery"])
def test_pages_and_fragments_run_a_fixed_number_of_queries_whatever_the_page_size(
    signed_in, owner, monkeypatch, url_name
):
    for n in range(40):
        make_task(owner, f"t{n}", minutes_ago=n, images=2, cn_types="canny", lora_versionid="l")

    def count(size, **params):
        monkeypatch.setattr(library_views, "PAGE_SIZE", size)
        cache.clear()  # the filter menus are cached for a minute: count them every time
        with CaptureQueriesContext(connection) as queries:
            response = signed_in.get(reverse(url_name), params, **({"HTTP_HX_REQUEST": "true"} if params else {}))
        assert len(ids(response)) == size
        return len(queries), next_cursor(response)

    small, cursor_small = count(5)
    large, cursor_large = count(30)
    assert small == large
    assert count(5, cursor=cursor_small)[0] == count(9, cursor=cursor_large)[0]


def test_delete_moves_to_the_trash_and_restore_brings_back(signed_in, owner):
    task = make_task(owner, "to be deleted")
    signed_in.post(reverse("tasks_delete"), {"task": [task.pk]})
    assert ids(signed_in.get(reverse("history"))) == []
    assert "to be deleted" in signed_in.get(reverse("trash")).content.decode()
    signed_in.post(reverse("tasks_restore"), {"task": [task.pk]})
    assert ids(signed_in.get(reverse("history"))) == [task.pk]


def test_the_purge_removes_what_was_deleted_more_than_30_days_ago_with_its_files(owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    old = make_task(owner, "old")
    recent = make_task(owner, "recent")
    kept = make_task(owner, "kept")
    GenerationTask.objects.filter(pk=old.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    GenerationTask.objects.filter(pk=recent.pk).update(deleted_at=timezone.now() - timedelta(days=29))
    old_file = old.images.get().file.path

    assert trash.trash_purge() == 1
    assert set(GenerationTask.objects.values_list("pk", flat=True)) == {recent.pk, kept.pk}
    assert not (tmp_path / old_file).exists()
    assert trash.trash_purge() == 0  # safe to run twice


def test_the_purge_runs_every_day():
    from django_q.models import Schedule

    trash.ensure_purge_schedule()
    trash.ensure_purge_schedule()
    schedule = Schedule.objects.get(name=trash.PURGE_SCHEDULE)
    assert schedule.schedule_type == Schedule.DAILY and schedule.func == trash.PURGE_JOB


def test_favourite_toggles_for_the_owner_only(signed_in, owner, client, teammate):
    task = make_task(owner)
    response = signed_in.post(reverse("task_favourite", args=[task.pk]), {"favourite": "1"}, HTTP_HX_REQUEST="true")
    assert 'aria-pressed="true"' in response.content.decode()
    task.refresh_from_db()
    assert task.is_favourite
    client.force_login(teammate)
    assert client.post(reverse("task_favourite", args=[task.pk]), {"favourite": "0"}).status_code == 404


# --- The team gallery and the visibility matrix ---------------------------------------------------------------


def test_the_gallery_shows_shared_work_of_everyone_and_can_filter_by_member(signed_in, owner, teammate, outsider):
    mine = make_task(owner, "mine")
    theirs = make_task(teammate, "theirs")
    hidden = make_task(outsider, "hidden")
    MemberSettings.objects.create(user=outsider, share_with_team=False)
    assert set(ids(signed_in.get(reverse("gallery")))) == {mine.pk, theirs.pk}
    assert ids(signed_in.get(reverse("gallery"), {"member": teammate.pk})) == [theirs.pk]
    assert hidden.pk not in ids(signed_in.get(reverse("gallery"), {"member": outsider.pk}))
    members = [m.username for m in signed_in.get(reverse("gallery")).context["members"]]
    assert "outsider" not in members


def test_a_member_can_stop_sharing(signed_in, owner, client, teammate):
    task = make_task(owner, "soon private")
    signed_in.post(reverse("sharing"), {"share": "0"})
    client.force_login(teammate)
    assert task.pk not in ids(client.get(reverse("gallery")))
    image = task.images.get()
    for url in [
        reverse("image_detail", args=[image.pk]),
        reverse("image_file", args=[image.pk, "thumb"]),
        reverse("task_detail", args=[task.pk]),
        reverse("task_card", args=[task.pk]),
    ]:
        assert client.get(url).status_code == 404, url


def test_admins_see_unshared_work(client, owner, admin_user):
    MemberSettings.objects.create(user=owner, share_with_team=False)
    task = make_task(owner)
    client.force_login(admin_user)
    assert task.pk in ids(client.get(reverse("gallery")))


@pytest.mark.parametrize("name", ["history", "gallery", "trash"])
def test_signed_out_visitors_are_sent_to_sign_in(client, name):
    assert client.get(reverse(name))["Location"].startswith(reverse("login"))


def test_nobody_deletes_or_restores_anothers_tasks(client, owner, teammate):
    task = make_task(owner)
    client.force_login(teammate)
    client.post(reverse("tasks_delete"), {"task": [task.pk]})
    task.refresh_from_db()
    assert task.deleted_at is None
    trash.tasks_delete(user=owner, task_ids=[task.pk])
    client.post(reverse("tasks_restore"), {"task": [task.pk]})
    task.refresh_from_db()
    assert task.deleted_at is not None
    assert task.pk not in [t.pk for t in client.get(reverse("trash")).context["tasks"]]


def test_the_viewer_moves_through_history_in_order(signed_in, owner):
    older = make_task(owner, "older", minutes_ago=5, images=2)
    newer = make_task(owner, "newer", minutes_ago=1, images=1)
    first_of_older = older.images.get(save_index=0)
    page = signed_in.get(reverse("image_detail", args=[first_of_older.pk]), {"in": "history"})
    assert page.context["previous"] == newer.images.get().pk
    assert page.context["next"] == older.images.get(save_index=1).pk
    assert '"prompt": "older"' in page.context["params_json"]  # every parameter, ready to copy as JSON
    assert 'id="params-json"' in page.content.decode()


# --- At scale: a search costs a fixed number of queries (the trash: test_trash.py) -----------------------------


@pytest.mark.parametrize("url_name", ["history", "gallery"])
def test_a_search_costs_the_same_whatever_it_finds(signed_in, owner, teammate, monkeypatch, url_name):
    monkeypatch.setattr(library_views, "PAGE_SIZE", 5)

    def count(**params):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            response = signed_in.get(reverse(url_name), params)
        return len(queries), len(ids(response))

    make_task(owner, "a lighthouse at dusk")
    small = count(q="lighthouse")
    for n in range(12):
        make_task(owner if n % 2 else teammate, f"lighthouse {n}", minutes_ago=n, images=2)
    assert count(q="lighthouse") == (small[0], 5)
    nothing = count(q="zebra")
    assert nothing[0] == small[0] - 1 and nothing[1] == 0  # no tasks: no query for their images


@pytest.mark.parametrize("window", [1000, 4, 1])
def test_a_search_pages_through_every_match_newest_first_whatever_the_window(signed_in, owner, monkeypatch, window):
    """On PostgreSQL a page of search results comes from the newest rows first and from the index after them
    (selectors.search_newest); a small window forces the second way. Every page must match the plain search."""
    monkeypatch.setattr(selectors, "SEARCH_WINDOW", window)
    monkeypatch.setattr(library_views, "PAGE_SIZE", 3)
    for n in range(14):
        make_task(owner, "a fox in the snow" if n % 3 == 0 else "a lighthouse at dusk", minutes_ago=n, images=0)
    for text in ("fox", "light dusk", "zebra"):
        expected = list(selectors.search(selectors.own_tasks(owner), text).values_list("pk", flat=True))
        seen, cursor = [], ""
        while True:
            params = {"q": text, **({"cursor": cursor} if cursor else {})}
            response = signed_in.get(reverse("history"), params, HTTP_HX_REQUEST="true")
            seen += ids(response)
            cursor = next_cursor(response)
            if not cursor:
                break
        assert seen == expected, (text, window)
