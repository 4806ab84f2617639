"""Ids and ``next`` values that are no such thing get a plain refusal or the default, never a 500 (issue #9 §2)."""

import pytest
from django.urls import reverse

from library.models import Collection, CollectionItem
from tests.library.library_helpers import make_task

HUGE = "99999999999999999999999999"


@pytest.fixture
def member(client, owner):
    client.raise_request_exception = False
    client.force_login(owner)
    return client


@pytest.mark.django_db
def test_every_next_that_is_no_path_falls_back_to_the_default(member, owner):
    task = make_task(owner, n_images=1)
    image = task.images.first()
    collection = Collection.objects.create(owner=owner, name="Mine")
    posts = {
        reverse("sharing"): ({"share": "1"}, reverse("gallery")),
        reverse("tasks_delete"): ({"task": task.pk}, reverse("history")),
        reverse("tasks_restore"): ({"task": task.pk}, reverse("trash")),
        reverse("task_favourite", args=[task.pk]): ({"favourite": "1"}, reverse("history")),
        reverse("history_zip"): ({}, reverse("history")),
        reverse("collection_add"): (
            {"image": image.pk, "collection": collection.pk},
            reverse("collection_detail", args=[collection.pk]),
        ),
    }
    for url, (data, default) in posts.items():
        for bad in ("abc", HUGE, "//evil.example/"):
            response = member.post(url, {**data, "next": bad})
            assert response.status_code == 302, (url, bad, response.status_code)
            assert response["Location"] == default, (url, bad)


@pytest.mark.django_db(transaction=True)
def test_settings_connects_then_ignores_a_next_that_is_no_path(member, simulator_url):
    data = {"email": "demo@example.com", "password": "demo", "next": "abc"}
    response = member.post(reverse("upstream_settings"), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("upstream_settings")


@pytest.mark.django_db
def test_ids_beyond_64_bits_are_refused_plainly(member, owner):
    task = make_task(owner, n_images=1)
    collection = Collection.objects.create(owner=owner, name="Mine")
    CollectionItem.objects.create(collection=collection, image=task.images.first())
    requests = [
        ("post", reverse("tasks_delete"), {"task": HUGE}),
        ("post", reverse("tasks_restore"), {"task": HUGE}),
        ("post", reverse("history_zip"), {"task": HUGE}),
        ("post", reverse("collection_cover", args=[collection.pk]), {"image": HUGE}),
        ("post", reverse("collection_remove", args=[collection.pk]), {"image": HUGE}),
        ("get", reverse("collection_picker"), {"image": HUGE}),
        ("get", reverse("gallery"), {"member": HUGE}),
        ("get", reverse("history_export"), {"member": HUGE}),
    ]
    for method, url, data in requests:
        response = getattr(member, method)(url, data)
        assert response.status_code in (200, 400), (url, response.status_code)
        if response.status_code == 400:
            assert "must be a whole number" in response.content.decode()
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)  # on SQLite the export's query overflowed while streaming
    assert member.get(f"/tasks/{HUGE}/").status_code == 404  # <id:pk>: beyond the range is no such page
    assert "Choose a member from the list." in member.get(reverse("gallery"), {"member": HUGE}).content.decode()


@pytest.mark.django_db
def test_an_htmx_refusal_is_a_fragment_with_its_message(member):
    response = member.get(reverse("collection_picker"), {"image": "abc"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "<html" not in body and 'role="alert"' in body and "“image” must be a whole number" in body
