"""Collections: create, add from the picker and from a multi-selection, remove, cover, edit and delete; and who
may see what (the owner / teammate / outsider / admin / visitor matrix over every collection URL and fragment)."""

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generation import services
from generation.models import GenerationTask
from library import collections
from library.models import Collection, CollectionItem
from miaohua_site.accounts.services import upstream_account_store
from tests.library.library_helpers import is_login_page, make_task, set_sharing

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def board(owner, name="Lighthouses", *, shared=False, images=()):
    collection = collections.collection_create(user=owner, name=name, is_shared=shared)
    collections.collection_add_images(user=owner, collection=collection, images=images)
    return collection


def thumb_url(image) -> str:
    return reverse("image_file", args=[image.pk, "thumb"])


# --- Creating, listing, editing ------------------------------------------------------------------------------


def test_it_creates_a_collection_from_the_list_page(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("collection_list"), {"name": "Moodboard", "description": "warm light", "is_shared": "on"}
    )

    collection = Collection.objects.get(owner=owner)
    assert response.status_code == 302 and response["Location"] == reverse("collection_detail", args=[collection.pk])
    assert (collection.name, collection.description, collection.is_shared) == ("Moodboard", "warm light", True)
    page = client.get(reverse("collection_list")).content.decode()
    assert "Moodboard" in page and "0 images" in page


def test_it_says_beside_the_name_when_it_is_taken_or_missing(client, owner, teammate):
    board(owner, "Moodboard")
    board(teammate, "Portraits")  # another member's name is free for me
    client.force_login(owner)

    taken = client.post(reverse("collection_list"), {"name": "Moodboard"})
    assert taken.status_code == 400
    assert "You already have a collection named “Moodboard”." in taken.content.decode()
    assert 'aria-invalid="true"' in taken.content.decode()
    assert client.post(reverse("collection_list"), {"name": "  "}).status_code == 400
    assert client.post(reverse("collection_list"), {"name": "Portraits"}).status_code == 302
    assert Collection.objects.filter(owner=owner).count() == 2


def test_the_list_shows_my_collections_and_the_shared_ones_with_cover_and_count(client, owner, teammate):
    mine = make_task(owner, n_images=3)
    theirs = make_task(teammate)
    board(owner, "Mine", images=mine.images.all())
    board(teammate, "Team picks", shared=True, images=theirs.images.all())
    board(teammate, "Drafts", images=theirs.images.all())  # private: not listed for me

    client.force_login(owner)
    response = client.get(reverse("collection_list"))
    page = response.content.decode()
    assert [c.name for c in response.context["mine"]] == ["Mine"]
    assert [c.name for c in response.context["shared"]] == ["Team picks"]
    assert "3 images" in page and "2 images" in page and "by teammate" in page
    assert "Drafts" not in page
    last_added = mine.images.order_by("-pk").first()  # no cover chosen: the most recently added image
    assert response.context["mine"][0].cover_image_id == last_added.pk
    assert thumb_url(last_added) in page


def test_it_renames_describes_shares_and_deletes(client, owner):
    collection = board(owner, "Old name")
    client.force_login(owner)

    response = client.post(
        reverse("collection_edit", args=[collection.pk]),
        {"name": "New name", "description": "for the spring campaign", "is_shared": "on"},
    )
    assert response.status_code == 302
    collection.refresh_from_db()
    assert (collection.name, collection.description, collection.is_shared) == (
        "New name",
        "for the spring campaign",
        True,
    )
    response = client.post(reverse("collection_edit", args=[collection.pk]), {"name": "New name"})
    collection.refresh_from_db()
    assert response.status_code == 302 and collection.is_shared is False  # an unticked box unshares

    board(owner, "Other")
    clash = client.post(reverse("collection_edit", args=[collection.pk]), {"name": "Other"})
    assert clash.status_code == 400 and "You already have a collection named “Other”." in clash.content.decode()

    response = client.post(reverse("collection_delete", args=[collection.pk]))
    assert response["Location"] == reverse("collection_list")
    assert not Collection.objects.filter(pk=collection.pk).exists()


def test_deleting_a_collection_keeps_its_images(client, owner):
    task = make_task(owner)
    collection = board(owner, images=task.images.all())
    client.force_login(owner)
    client.post(reverse("collection_delete", args=[collection.pk]))
    assert task.images.count() == 2 and not CollectionItem.objects.exists()


# --- Adding: the picker and collection_add -------------------------------------------------------------------


def test_it_adds_images_and_whole_tasks_ignoring_duplicates(client, owner):
    first, second = make_task(owner), make_task(owner, n_images=3)
    collection = board(owner)
    client.force_login(owner)
    one_image = first.images.first()

    response = client.post(
        reverse("collection_add"), {"collection": collection.pk, "image": [one_image.pk], "task": [second.pk]}
    )
    assert response.status_code == 302 and response["Location"] == reverse("collection_detail", args=[collection.pk])
    assert set(collection.items.values_list("image_id", flat=True)) == {
        one_image.pk,
        *second.images.values_list("pk", flat=True),
    }

    again = client.post(reverse("collection_add"), {"collection": collection.pk, "task": [first.pk, second.pk]}, **HTMX)
    assert "Added 1 image to" in again.content.decode()  # only first's other image was new
    assert "4 were there already" in again.content.decode()
    assert collection.items.count() == 5


def test_an_htmx_add_answers_a_small_fragment(client, owner):
    task = make_task(owner)
    collection = board(owner, "Blue hour")
    client.force_login(owner)

    response = client.post(reverse("collection_add"), {"collection": collection.pk, "task": task.pk}, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert "Added 2 images to" in content and "Blue hour" in content
    assert "<html" not in content and reverse("collection_detail", args=[collection.pk]) in content


def test_a_new_name_creates_the_collection_or_reuses_mine(client, owner):
    task = make_task(owner)
    client.force_login(owner)

    client.post(reverse("collection_add"), {"new_name": "Fresh", "image": task.images.first().pk})
    client.post(reverse("collection_add"), {"new_name": "Fresh", "image": task.images.last().pk})

    collection = Collection.objects.get(owner=owner)
    assert collection.name == "Fresh" and collection.items.count() == 2


def test_adding_without_a_collection_or_images_explains_itself(client, owner):
    task = make_task(owner)
    client.force_login(owner)

    nothing_chosen = client.post(reverse("collection_add"), {"image": task.images.first().pk}, **HTMX)
    assert nothing_chosen.status_code == 200  # htmx swaps only 2xx: the form comes back with its message
    assert "Choose one of your collections or type a name for a new one." in nothing_chosen.content.decode()
    no_images = client.post(reverse("collection_add"), {"new_name": "Empty"})
    assert no_images.status_code == 400 and "Select at least one image first." in no_images.content.decode()
    assert not Collection.objects.exists()


def test_it_goes_back_to_a_safe_next_only(client, owner):
    task = make_task(owner)
    collection = board(owner)
    client.force_login(owner)
    data = {"collection": collection.pk, "task": task.pk}

    back = client.post(reverse("collection_add"), {**data, "next": "/history/?q=lighthouse"})
    assert back["Location"] == "/history/?q=lighthouse"
    away = client.post(reverse("collection_add"), {**data, "next": "https://elsewhere.example/"})
    assert away["Location"] == reverse("collection_detail", args=[collection.pk])


def test_the_picker_offers_my_collections_and_posts_to_add(client, owner, teammate):
    task = make_task(owner)
    image = task.images.first()
    mine = board(owner, "Mine")
    board(teammate, "Not mine", shared=True)
    client.force_login(owner)

    response = client.get(reverse("collection_picker"), {"image": image.pk}, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content
    assert f'hx-post="{reverse("collection_add")}"' in content
    assert f'<input type="hidden" name="image" value="{image.pk}">' in content
    assert f'<option value="{mine.pk}">Mine</option>' in content and "Not mine" not in content
    assert 'name="new_name"' in content and "1 image selected" in content


def test_the_picker_takes_several_tasks(client, owner):
    first, second = make_task(owner), make_task(owner)
    client.force_login(owner)

    content = client.get(reverse("collection_picker") + f"?task={first.pk}&task={second.pk}", **HTMX).content.decode()

    assert "4 images selected" in content
    assert f'name="task" value="{first.pk}"' in content and f'name="task" value="{second.pk}"' in content
    assert "New collection" in content  # no collection yet: only the name field


def test_the_picker_without_htmx_is_a_page(client, owner):
    task = make_task(owner)
    client.force_login(owner)
    page = client.get(reverse("collection_picker"), {"task": task.pk}).content.decode()
    assert "<html" in page and "Add to a collection" in page


# --- Removing, cover, paging --------------------------------------------------------------------------------


def test_it_removes_selected_images_and_the_cover_with_them(client, owner):
    task = make_task(owner, n_images=3)
    first, second, third = task.images.order_by("save_index")
    collection = board(owner, images=[first, second, third])
    client.force_login(owner)
    client.post(reverse("collection_cover", args=[collection.pk]), {"image": second.pk})

    response = client.post(reverse("collection_remove", args=[collection.pk]), {"image": [first.pk, second.pk]})

    assert response["Location"] == reverse("collection_detail", args=[collection.pk])
    assert list(collection.items.values_list("image_id", flat=True)) == [third.pk]
    collection.refresh_from_db()
    assert collection.cover is None
    assert task.images.count() == 3  # the images stay in the history


def test_the_chosen_cover_is_shown_in_the_list(client, owner):
    task = make_task(owner, n_images=3)
    first, second, third = task.images.order_by("save_index")
    collection = board(owner, images=[first, second, third])
    client.force_login(owner)

    response = client.post(reverse("collection_cover", args=[collection.pk]), {"image": first.pk})

    assert response.status_code == 302
    collection.refresh_from_db()
    assert collection.cover == first
    listing = client.get(reverse("collection_list"))
    assert listing.context["mine"][0].cover_image_id == first.pk
    assert thumb_url(first) in listing.content.decode()
    detail = client.get(reverse("collection_detail", args=[collection.pk])).content.decode()
    assert "Cover" in detail


def test_the_cover_must_be_an_image_of_the_collection(client, owner):
    inside, outside = make_task(owner), make_task(owner)
    collection = board(owner, images=inside.images.all())
    client.force_login(owner)
    response = client.post(reverse("collection_cover", args=[collection.pk]), {"image": outside.images.first().pk})
    assert response.status_code == 404


def test_the_detail_page_pages_newest_added_first_with_infinite_scroll(client, owner, monkeypatch):
    monkeypatch.setattr(collections, "PAGE_SIZE", 2)
    task = make_task(owner, n_images=5)
    collection = board(owner)
    images = list(task.images.order_by("save_index"))
    start = timezone.now()
    for minutes, image in enumerate(images):  # added one a minute: the last one added comes first
        CollectionItem.objects.create(
            collection=collection, image=image, added_at=start + timezone.timedelta(minutes=minutes)
        )
    client.force_login(owner)

    page = client.get(reverse("collection_detail", args=[collection.pk]))
    seen = [item.image_id for item in page.context["items"]]
    assert 'hx-trigger="revealed"' in page.content.decode()
    cursor = page.context["next_cursor"]
    while cursor:
        fragment = client.get(reverse("collection_detail", args=[collection.pk]), {"cursor": cursor}, **HTMX)
        assert "<html" not in fragment.content.decode()
        seen += [item.image_id for item in fragment.context_data["items"]]
        cursor = fragment.context_data["next_cursor"]
    assert seen == [image.pk for image in reversed(images)]
    assert 'hx-trigger="revealed"' not in fragment.content.decode()


def test_the_next_page_fragment_costs_the_same_whatever_the_page_size(client, owner, monkeypatch):
    task = make_task(owner, n_images=6)
    collection = board(owner, images=task.images.all())
    client.force_login(owner)

    def queries(size):
        monkeypatch.setattr(collections, "PAGE_SIZE", size)
        first = client.get(reverse("collection_detail", args=[collection.pk]))
        with CaptureQueriesContext(connection) as captured:
            client.get(
                reverse("collection_detail", args=[collection.pk]), {"cursor": first.context["next_cursor"]}, **HTMX
            )
        return len(captured)

    assert queries(1) == queries(4)


# --- Who sees what ------------------------------------------------------------------------------------------


@pytest.fixture
def boards(owner, teammate):
    """The owner's private and shared boards, holding an image of the owner and one of the teammate."""
    own_image = make_task(owner, prompt="owner's lighthouse").images.first()
    team_image = make_task(teammate, prompt="teammate's harbour").images.first()
    private = board(owner, "Private board", images=[own_image, team_image])
    shared = board(owner, "Shared board", shared=True, images=[own_image, team_image])
    return {"private": private, "shared": shared, "own_image": own_image, "team_image": team_image}


def test_a_private_collection_is_the_owners_alone(client, boards, owner, teammate, outsider, admin_user):
    private = boards["private"]
    urls = [
        reverse("collection_detail", args=[private.pk]),
        reverse("collection_detail", args=[private.pk])
        + "?cursor="
        + collections._encode_cursor(private.items.first()),
    ]
    client.force_login(owner)
    assert all(client.get(url, **HTMX).status_code == 200 for url in urls)
    for someone in (teammate, outsider, admin_user):
        client.force_login(someone)
        for url in urls:
            assert client.get(url, **HTMX).status_code == 404, (someone, url)
        assert "Private board" not in client.get(reverse("collection_list")).content.decode()


def test_a_shared_collection_is_read_only_for_other_members(client, boards, teammate, outsider, admin_user):
    shared, image = boards["shared"], boards["own_image"]
    for someone in (teammate, outsider, admin_user):
        client.force_login(someone)
        page = client.get(reverse("collection_detail", args=[shared.pk]))
        content = page.content.decode()
        assert page.status_code == 200 and "read-only" in content
        assert (
            "Remove selected" not in content and "Make cover" not in content and "Delete this collection" not in content
        )
        assert "Shared board" in client.get(reverse("collection_list")).content.decode()
        for name, data in [
            ("collection_edit", {"name": "Mine now"}),
            ("collection_delete", {}),
            ("collection_remove", {"image": image.pk}),
            ("collection_cover", {"image": image.pk}),
        ]:
            assert client.post(reverse(name, args=[shared.pk]), data).status_code == 404, (someone, name)
        add = client.post(reverse("collection_add"), {"collection": shared.pk, "image": image.pk}, **HTMX)
        assert add.status_code == 404
    shared.refresh_from_db()
    assert shared.name == "Shared board" and shared.items.count() == 2


def test_an_image_whose_owner_stopped_sharing_does_not_show_through_a_collection(
    client, boards, owner, teammate, outsider, admin_user
):
    shared, own_image, team_image = boards["shared"], boards["own_image"], boards["team_image"]
    client.force_login(outsider)
    assert thumb_url(team_image) in client.get(reverse("collection_detail", args=[shared.pk])).content.decode()

    set_sharing(teammate, False)

    for someone in (owner, outsider):  # even the collection's owner no longer sees the teammate's image
        client.force_login(someone)
        page = client.get(reverse("collection_detail", args=[shared.pk]))
        assert thumb_url(own_image) in page.content.decode()
        assert thumb_url(team_image) not in page.content.decode()
        assert [item.image_id for item in page.context["items"]] == [own_image.pk]
        listing = client.get(reverse("collection_list"))
        assert thumb_url(team_image) not in listing.content.decode()
        assert "1 image" in listing.content.decode()
    client.force_login(teammate)  # the teammate still sees their own image, and the owner's shared one
    assert thumb_url(team_image) in client.get(reverse("collection_detail", args=[shared.pk])).content.decode()
    client.force_login(admin_user)  # admins see everything
    assert thumb_url(team_image) in client.get(reverse("collection_detail", args=[shared.pk])).content.decode()


def test_a_cover_the_viewer_may_not_see_is_replaced(client, boards, owner, teammate, outsider):
    shared, own_image, team_image = boards["shared"], boards["own_image"], boards["team_image"]
    collections.collection_set_cover(collection=shared, image=team_image)
    set_sharing(teammate, False)
    client.force_login(outsider)
    listing = client.get(reverse("collection_list"))
    card = next(c for c in listing.context["shared"] if c.pk == shared.pk)
    assert card.cover_image_id == own_image.pk
    assert thumb_url(team_image) not in listing.content.decode()


def test_a_trashed_task_leaves_the_collection_until_restored(client, boards, owner):
    shared, own_image = boards["shared"], boards["own_image"]
    GenerationTask.objects.filter(pk=own_image.task_id).update(deleted_at=timezone.now())
    client.force_login(owner)
    page = client.get(reverse("collection_detail", args=[shared.pk]))
    assert own_image.pk not in [item.image_id for item in page.context["items"]]


def test_nobody_adds_what_they_may_not_see(client, owner, teammate, outsider):
    hidden = make_task(teammate)
    set_sharing(teammate, False)
    mine = board(outsider, "Outsider's")
    client.force_login(outsider)

    for data in ({"image": hidden.images.first().pk}, {"task": hidden.pk}):
        assert client.post(reverse("collection_add"), {"collection": mine.pk, **data}).status_code == 404
        assert client.get(reverse("collection_picker"), data, **HTMX).status_code == 404
    visible = make_task(owner)
    response = client.post(reverse("collection_add"), {"collection": mine.pk, "task": [hidden.pk, visible.pk]})
    assert response.status_code == 302  # the visible task's images only
    assert set(mine.items.values_list("image__task_id", flat=True)) == {visible.pk}


def test_a_teammates_shared_images_can_be_collected(client, owner, teammate):
    theirs = make_task(teammate)
    client.force_login(owner)
    client.post(reverse("collection_add"), {"new_name": "Inspiration", "task": theirs.pk})
    assert Collection.objects.get(owner=owner).items.count() == 2


def test_visitors_get_the_login_page_everywhere(client, boards):
    shared, image = boards["shared"], boards["own_image"]
    gets = [
        reverse("collection_list"),
        reverse("collection_detail", args=[shared.pk]),
        reverse("collection_picker") + f"?image={image.pk}",
    ]
    posts = [
        reverse("collection_list"),
        reverse("collection_add"),
        reverse("collection_edit", args=[shared.pk]),
        reverse("collection_delete", args=[shared.pk]),
        reverse("collection_remove", args=[shared.pk]),
        reverse("collection_cover", args=[shared.pk]),
    ]
    for url in gets:
        assert is_login_page(client.get(url)), url
    for url in posts:
        assert is_login_page(client.post(url, {"image": image.pk, "collection": shared.pk})), url
    assert Collection.objects.filter(pk=shared.pk).exists()


# --- With a task made through the simulator -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_collects_a_task_generated_through_the_simulator(client, owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.1
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    task = services.generation_submit(
        user=owner,
        params={
            "prompt": "a paper boat",
            "versionid": "sgl_artist_v0.3.5_0925",
            "n_images": 2,
            "scale": 7,  # required by the document
            "output_size": "640x640",
        },
        idempotency_key=uuid.uuid4(),
    )
    task.refresh_from_db()
    assert task.state == GenerationTask.State.DONE, task.error_message
    client.force_login(owner)

    client.post(reverse("collection_add"), {"new_name": "Boats", "task": task.pk})

    collection = Collection.objects.get(owner=owner, name="Boats")
    page = client.get(reverse("collection_detail", args=[collection.pk])).content.decode()
    assert len(re.findall(r'class="item"', page)) == 2
    for image in task.images.all():
        assert thumb_url(image) in page
        assert client.get(thumb_url(image)).status_code == 200


# --- At scale: the list and a collection cost a fixed number of queries -------------------------------------


def _queries(client, url, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **headers).status_code == 200
    return len(captured)


def test_the_list_costs_the_same_whatever_the_number_of_collections_and_images(client, owner, teammate):
    board(owner, "First", images=make_task(owner, n_images=1).images.all())
    client.force_login(owner)
    few = _queries(client, reverse("collection_list"))

    images = [image for _ in range(4) for image in make_task(owner, n_images=3).images.all()]
    theirs = list(make_task(teammate, n_images=3).images.all())
    for n in range(5):
        board(owner, f"Mine {n}", shared=n % 2 == 0, images=images[n:])
        board(teammate, f"Theirs {n}", shared=True, images=theirs + images[: n + 1])
    assert _queries(client, reverse("collection_list")) == few
    listing = client.get(reverse("collection_list"))
    assert (len(listing.context["mine"]), len(listing.context["shared"])) == (6, 5)


def test_a_collection_and_its_next_page_cost_the_same_whatever_its_size(client, owner, teammate, monkeypatch):
    monkeypatch.setattr(collections, "PAGE_SIZE", 4)
    small = board(owner, "Small", images=make_task(owner, n_images=1).images.all())
    images = [image for _ in range(5) for image in make_task(owner, n_images=3).images.all()]
    large = board(owner, "Large", images=images + list(make_task(teammate, n_images=3).images.all()))
    client.force_login(owner)

    detail = reverse("collection_detail", args=[large.pk])
    assert _queries(client, reverse("collection_detail", args=[small.pk])) == _queries(client, detail)
    first = client.get(detail)
    assert first.context["n_images"] == 18 and len(first.context["items"]) == 4
    second = {"cursor": first.context["next_cursor"]}
    assert _queries(client, detail + "?cursor=" + second["cursor"], **HTMX) <= _queries(client, detail)


def test_the_list_counts_and_covers_only_what_the_viewer_may_see(client, owner, teammate, outsider, admin_user):
    kept, trashed = make_task(owner, n_images=1), make_task(owner, n_images=1)
    hidden = make_task(teammate, n_images=2)
    shared = board(owner, "Shared board", shared=True, images=[*kept.images.all(), *trashed.images.all()])
    collections.collection_add_images(user=owner, collection=shared, images=hidden.images.all())
    collections.collection_set_cover(collection=shared, image=hidden.images.first())
    GenerationTask.objects.filter(pk=trashed.pk).update(deleted_at=timezone.now())
    set_sharing(teammate, False)

    expected = {owner: (1, kept), outsider: (1, kept), teammate: (3, hidden), admin_user: (3, hidden)}
    for someone, (count, cover_task) in expected.items():
        client.force_login(someone)
        listing = client.get(reverse("collection_list"))
        card = next(c for c in [*listing.context["mine"], *listing.context["shared"]] if c.pk == shared.pk)
        assert card.n_images == count, someone
        if cover_task is hidden:
            assert card.cover_image_id == hidden.images.first().pk, someone
        else:
            assert card.cover_image_id == kept.images.get().pk, someone
        detail = client.get(reverse("collection_detail", args=[shared.pk]))
        assert detail.context["n_images"] == count, someone
