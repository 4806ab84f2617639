"""Lineage (issue #12): a task's inputs (its init image, each ControlNet unit's image) with where they came from,
and under an image what was made from it and the datasets that hold it. Every link obeys who sees what: the
owner / teammate (owner shares) / teammate (owner does not share) / outsider / admin matrix."""

import importlib
import uuid

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generation import services
from generation.models import GenerationTask, InputImage, TaskInput
from generation.services.submit import task_inputs_create
from library import selectors
from miaohua_site.accounts.services import upstream_account_store
from tests.generation.test_submit import png_upload, txt2img
from tests.library.library_helpers import make_task, picture, set_sharing
from training.models import Dataset, DatasetImage

State = GenerationTask.State
INIT, CONTROLNET = TaskInput.Role.INIT, TaskInput.Role.CONTROLNET


def upload(owner, colour="teal") -> InputImage:
    image = InputImage.objects.create(owner=owner, width=48, height=48)
    image.file.save("in.png", ContentFile(picture(colour)))
    return image


def picked(owner, source) -> InputImage:
    return InputImage.objects.create(owner=owner, source_image=source, width=source.width, height=source.height)


def derive(owner, *, init=None, controlnets=(), **fields) -> GenerationTask:
    """A finished task of ``owner`` made from these input images, its TaskInput rows written as on submit."""
    task = make_task(owner, n_images=1, **fields)
    task.params = {
        **task.params,
        **({"init_img": init.reference} if init else {}),
        "cn_configs": [{"cn": cn, "weight": 1, "img": image.reference} for cn, image in controlnets],
    }
    task.kind = GenerationTask.Kind.IMG2IMG if init else GenerationTask.Kind.TXT2IMG
    task.save(update_fields=["params", "kind"])
    task_inputs_create(task=task)
    return task


def slots(task) -> list[tuple[str, int, int]]:
    return sorted(task.inputs.values_list("role", "position", "image_id"))


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- TaskInput written when a task is stored --------------------------------------------------------------


@pytest.fixture
def connected(owner, simulator_url, settings, media):
    settings.GENERATION_MIRROR_IMAGES = False
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.2
    return upstream_account_store(user=owner, email="demo@example.com", password="demo")


@pytest.mark.django_db(transaction=True)
def test_it_writes_the_init_image_and_two_controlnet_units_of_a_submitted_task(owner, connected):
    init = services.input_image_create(user=owner, file=png_upload("init.png", (640, 640), "navy"))
    edges = services.input_image_create(user=owner, file=png_upload("edges.png", (640, 640), "white"))
    params = txt2img(
        init_img=init.reference,
        strength=0.5,
        cn_configs=[
            {"cn": "canny", "weight": 1, "img": edges.reference},
            {"cn": "tile", "weight": 0.5, "img": init.reference},
        ],
    )

    task = services.generation_submit(user=owner, params=params, idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message  # sent through the simulator with its inputs
    assert slots(task) == [(CONTROLNET, 0, edges.pk), (CONTROLNET, 1, init.pk), (INIT, 0, init.pk)]


@pytest.mark.django_db(transaction=True)
def test_it_writes_an_init_image_picked_from_history(owner, connected, settings):
    settings.GENERATION_MIRROR_IMAGES = True
    first = services.generation_submit(user=owner, params=txt2img(), idempotency_key=uuid.uuid4())
    chosen = services.input_image_from_history(user=owner, image=first.images.get())
    params = txt2img(init_img=chosen.reference)
    del params["output_size"]

    task = services.generation_submit(user=owner, params=params, idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message
    assert slots(task) == [(INIT, 0, chosen.pk)]
    assert slots(first) == []
    again = services.generation_retry(task=task)  # try again: the same inputs, rows of its own
    assert slots(again) == [(INIT, 0, chosen.pk)]


@pytest.mark.django_db
def test_it_leaves_out_references_that_are_not_the_owners_own_input_images(owner, outsider, media):
    theirs = upload(outsider)
    params = txt2img(
        init_img=theirs.reference,
        cn_configs=[
            {"cn": "canny", "weight": 1, "img": "input:999999"},
            {"cn": "tile", "weight": 1, "img": "input:abc"},
            {"cn": "depth", "weight": 1, "img": "https://example.com/x.png"},
        ],
    )

    task = services.generation_submit(user=owner, params=params, idempotency_key=uuid.uuid4())

    assert slots(task) == []  # nor does the outsider's upload become visible through the owner's task
    assert theirs.pk not in selectors.input_images_visible_to(owner).values_list("pk", flat=True)


@pytest.mark.django_db
def test_the_backfill_reads_existing_tasks_params(owner, outsider, media):
    migration = importlib.import_module("generation.migrations.0011_taskinput_backfill")
    init, edges, theirs = upload(owner), upload(owner), upload(outsider)
    old = make_task(owner, n_images=1, kind=GenerationTask.Kind.IMG2IMG, cn_types="canny,tile,depth")
    old.params = {
        **old.params,
        "init_img": init.reference,
        "cn_configs": [
            {"cn": "canny", "img": edges.reference},
            {"cn": "tile", "img": "input:999999"},  # gone: left out
            {"cn": "depth", "img": theirs.reference},  # not the owner's: left out
            "not a unit",
        ],
    }
    old.save(update_fields=["params"])
    plain = make_task(owner, n_images=1)
    written = derive(owner, init=init)  # already has its row: not written twice
    broken = make_task(owner, n_images=1, kind=GenerationTask.Kind.IMG2IMG)
    GenerationTask.objects.filter(pk=broken.pk).update(params=["not", "a", "dict"])

    migration.backfill_task_inputs(apps, None)
    migration.backfill_task_inputs(apps, None)  # twice: the same rows

    assert slots(old) == [(CONTROLNET, 0, edges.pk), (INIT, 0, init.pk)]
    assert slots(plain) == [] and slots(broken) == []
    assert slots(written) == [(INIT, 0, init.pk)]


# --- The task page ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_task_page_shows_each_input_with_where_it_came_from(client, owner, media):
    original = make_task(owner, n_images=1)
    source = original.images.get()
    init, control = upload(owner), picked(owner, source)
    task = derive(owner, init=init, controlnets=[("canny", control)])

    client.force_login(owner)
    page = client.get(reverse("task_detail", args=[task.pk])).content.decode()

    assert "Inputs" in page
    assert "Init image" in page and "ControlNet 1 · canny" in page
    assert f'href="{reverse("input_file", args=[init.pk])}"' in page and "Uploaded by owner" in page
    assert f'href="{reverse("image_detail", args=[source.pk])}"' in page and f"From task #{original.pk}" in page
    for image in (init, control):
        assert reverse("input_thumb", args=[image.pk]) in page
        assert client.get(reverse("input_thumb", args=[image.pk])).status_code == 200


@pytest.mark.django_db
def test_a_task_without_inputs_shows_no_inputs_block(client, owner, media):
    task = make_task(owner, n_images=1)
    client.force_login(owner)
    assert "Inputs" not in client.get(reverse("task_detail", args=[task.pk])).content.decode()


# --- Who sees what ----------------------------------------------------------------------------------------


@pytest.fixture
def shared_img2img(owner, media):
    """The owner's image-to-image task from an upload, and an upload of theirs no task used."""
    init = upload(owner)
    return derive(owner, init=init), init, upload(owner, "coral")


def _statuses(client, user, task, init, unused):
    client.force_login(user)
    return (
        client.get(reverse("task_detail", args=[task.pk])).status_code,
        client.get(reverse("input_file", args=[init.pk])).status_code,
        client.get(reverse("input_thumb", args=[init.pk])).status_code,
        client.get(reverse("input_file", args=[unused.pk])).status_code,
    )


@pytest.mark.django_db
def test_who_may_open_a_task_and_its_input_files(client, owner, teammate, outsider, admin_user, shared_img2img):
    task, init, unused = shared_img2img

    assert _statuses(client, owner, task, init, unused) == (200, 200, 200, 200)
    # A teammate sees the shared task, so its init image; not an upload no task they may see used.
    assert _statuses(client, teammate, task, init, unused) == (200, 200, 200, 404)
    assert _statuses(client, admin_user, task, init, unused) == (200, 200, 200, 404)

    set_sharing(owner, False)
    for someone in (teammate, outsider):
        assert _statuses(client, someone, task, init, unused) == (404, 404, 404, 404)
    assert _statuses(client, admin_user, task, init, unused) == (200, 200, 200, 404)

    GenerationTask.objects.filter(pk=task.pk).update(deleted_at=timezone.now())  # in the owner's trash
    assert _statuses(client, owner, task, init, unused)[1:] == (200, 200, 200)
    assert _statuses(client, admin_user, task, init, unused) == (404, 404, 404, 404)


@pytest.mark.django_db
def test_a_visitor_is_sent_to_sign_in(client, shared_img2img):
    task, init, _ = shared_img2img
    for url in (reverse("input_file", args=[init.pk]), reverse("input_thumb", args=[init.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_the_source_link_is_shown_only_to_who_may_open_the_source(client, owner, teammate, admin_user, media):
    source = make_task(teammate, n_images=1).images.get()
    control = picked(owner, source)  # picked while the teammate shared
    task = derive(owner, controlnets=[("canny", control)])
    link = f'href="{reverse("image_detail", args=[source.pk])}"'

    client.force_login(owner)
    assert link in client.get(reverse("task_detail", args=[task.pk])).content.decode()

    set_sharing(teammate, False)
    page = client.get(reverse("task_detail", args=[task.pk])).content.decode()
    assert link not in page and "From an image you cannot open" in page
    assert reverse("input_thumb", args=[control.pk]) in page  # the thumbnail is still shown, without a link
    assert client.get(reverse("input_thumb", args=[control.pk])).status_code == 200
    assert client.get(reverse("image_detail", args=[source.pk])).status_code == 404

    for someone in (teammate, admin_user):  # the source's owner, and an admin, follow it
        client.force_login(someone)
        assert link in client.get(reverse("task_detail", args=[task.pk])).content.decode()


@pytest.mark.django_db
def test_an_input_whose_source_image_was_purged_shows_without_a_link(client, owner, teammate, media):
    original = make_task(owner, n_images=1)
    source = original.images.get()
    control = picked(owner, source)
    task = derive(owner, controlnets=[("canny", control)])
    original.delete()  # purged from the trash: the input's source_image is now NULL

    client.force_login(owner)
    response = client.get(reverse("task_detail", args=[task.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "From an image that was deleted" in page and "No longer available" in page
    assert reverse("input_thumb", args=[control.pk]) not in page
    assert client.get(reverse("input_thumb", args=[control.pk])).status_code == 404
    assert client.get(reverse("input_file", args=[control.pk])).status_code == 404
    client.force_login(teammate)
    assert client.get(reverse("task_detail", args=[task.pk])).status_code == 200


# --- The image viewer: made from this image, in datasets ----------------------------------------------------


@pytest.fixture
def family(owner, teammate, outsider, admin_user, media):
    """The owner's image; a task the teammate (sharing) made from it, one the outsider (not sharing) made, and one
    the teammate made and deleted."""
    source = make_task(owner, n_images=1, prompt="the original").images.get()
    by_teammate = derive(teammate, init=picked(teammate, source))
    set_sharing(outsider, False)
    by_outsider = derive(outsider, controlnets=[("canny", picked(outsider, source))])
    trashed = derive(teammate, init=picked(teammate, source))
    GenerationTask.objects.filter(pk=trashed.pk).update(deleted_at=timezone.now())
    return source, by_teammate, by_outsider, trashed


def _made_from(client, user, image) -> set[int]:
    client.force_login(user)
    response = client.get(reverse("image_detail", args=[image.pk]))
    assert response.status_code == 200
    return {task.pk for task in response.context["made_from"]}


@pytest.mark.django_db
def test_made_from_this_image_lists_only_what_the_viewer_may_see(client, owner, teammate, outsider, admin_user, family):
    source, by_teammate, by_outsider, trashed = family

    assert _made_from(client, owner, source) == {by_teammate.pk}  # not the unsharing outsider's, nor a trashed one
    assert _made_from(client, teammate, source) == {by_teammate.pk}
    assert _made_from(client, outsider, source) == {by_teammate.pk, by_outsider.pk}
    assert _made_from(client, admin_user, source) == {by_teammate.pk, by_outsider.pk}

    client.force_login(owner)
    page = client.get(reverse("image_detail", args=[source.pk])).content.decode()
    assert "Made from this image" in page
    assert f'href="{reverse("task_detail", args=[by_teammate.pk])}"' in page
    assert f'href="{reverse("image_detail", args=[by_teammate.images.get().pk])}"' in page
    assert reverse("task_detail", args=[by_outsider.pk]) not in page
    assert reverse("task_detail", args=[trashed.pk]) not in page


@pytest.mark.django_db
def test_made_from_is_newest_first_and_counts_the_rest(client, owner, media):
    source = make_task(owner, n_images=1).images.get()
    derived = [derive(owner, init=picked(owner, source)) for _ in range(selectors.MADE_FROM_SHOWN + 2)]

    client.force_login(owner)
    response = client.get(reverse("image_detail", args=[source.pk]))

    shown = [task.pk for task in response.context["made_from"]]
    assert shown == [task.pk for task in reversed(derived)][: selectors.MADE_FROM_SHOWN]
    assert "and 2 more tasks" in response.content.decode()


@pytest.mark.django_db
def test_in_datasets_lists_the_datasets_holding_the_image(client, owner, teammate, viewer, admin_user, media):
    source = make_task(owner, n_images=1).images.get()
    portraits = Dataset.objects.create(name="Portraits", account_email="team@example.com", created_by=admin_user)
    refused = Dataset.objects.create(name="Refused here", account_email="team@example.com", created_by=admin_user)
    DatasetImage.objects.create(dataset=portraits, source=DatasetImage.Source.HISTORY, source_image=source)
    DatasetImage.objects.create(
        dataset=refused, source=DatasetImage.Source.HISTORY, source_image=source, state=DatasetImage.State.REFUSED
    )
    link = f'href="{reverse("dataset_detail", args=[portraits.pk])}"'

    for someone in (owner, teammate, viewer, admin_user):  # datasets: every signed-in person may look
        client.force_login(someone)
        page = client.get(reverse("image_detail", args=[source.pk])).content.decode()
        assert "In datasets" in page and link in page and "Refused here" not in page
        assert client.get(reverse("dataset_detail", args=[portraits.pk])).status_code == 200

    set_sharing(owner, False)
    client.force_login(teammate)
    assert client.get(reverse("image_detail", args=[source.pk])).status_code == 404


@pytest.mark.django_db
def test_the_viewer_shows_the_inputs_of_its_task(client, owner, media):
    original = make_task(owner, n_images=1)
    task = derive(owner, init=picked(owner, original.images.get()))
    client.force_login(owner)
    page = client.get(reverse("image_detail", args=[task.images.get().pk])).content.decode()
    assert "Init image" in page and f"From task #{original.pk}" in page


def _viewer_queries(client, image) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("image_detail", args=[image.pk])).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_viewer_does_no_query_per_related_item(
    client, owner, teammate, admin_user, media, django_assert_num_queries
):
    def world(prompt):
        source = make_task(owner, n_images=1, prompt=prompt).images.get()
        task = derive(owner, init=picked(owner, source), controlnets=[("canny", upload(owner))])
        image = task.images.get()
        dataset = Dataset.objects.create(name=prompt, account_email="team@example.com", created_by=admin_user)
        DatasetImage.objects.create(dataset=dataset, source=DatasetImage.Source.HISTORY, source_image=image)
        derive(teammate, init=picked(teammate, image))
        return image

    small = world("small")
    large = world("large")
    for n in range(4):  # more of everything around the large one
        derive(teammate, init=picked(teammate, large), controlnets=[("canny", picked(teammate, large))])
        dataset = Dataset.objects.create(name=f"more {n}", account_email="team@example.com", created_by=admin_user)
        DatasetImage.objects.create(dataset=dataset, source=DatasetImage.Source.HISTORY, source_image=large)

    client.force_login(owner)
    _viewer_queries(client, small)  # warm: the session, the member's settings rows
    expected = _viewer_queries(client, small)
    with django_assert_num_queries(expected):
        response = client.get(reverse("image_detail", args=[large.pk]))
    assert len(response.context["made_from"]) == 5 and len(response.context["datasets"]) == 5
    assert len(response.context["inputs"]) == 2
