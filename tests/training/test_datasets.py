"""Datasets through the pages, with the simulator over HTTP: files checked before sending, sent in batches by the
worker (inline here), the vendor dataset created once, images added, refused, retried and removed, history
pictures, and the import of what the Miaohua account already has (every page of dataset_all)."""

import io
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from generation.models import GeneratedImage, GenerationTask
from miaohua_site.simulator import stats
from miaohua_site.simulator.models import SimAccount, SimDataset, SimUpload
from tests.training.conftest import not_a_picture, picture
from training import services
from training.models import Dataset, DatasetImage, DatasetImport, link_path

State = DatasetImage.State
pytestmark = pytest.mark.django_db(transaction=True)


def make_dataset(admin, name="Round cats", description="Cats, drawn round") -> Dataset:
    response = admin.post(reverse("dataset_create"), {"name": name, "description": description})
    dataset = Dataset.objects.get(name=name)
    assert response.status_code == 302 and response["Location"] == reverse("dataset_detail", args=[dataset.pk])
    return dataset


def upload(admin, dataset, *files, more=False):
    data = {"images": list(files)}
    if more:
        data["more"] = "1"
    response = admin.post(reverse("dataset_upload", args=[dataset.pk]), data, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    return {item["name"]: item for item in response.json()["files"]}


def vendor_paths(vendor, dataset) -> set[str]:
    return next(
        {link_path(url) for url in d.images}
        for d in services.vendor_datasets(vendor)
        if d.id == dataset.vendor_dataset_id
    )


def test_it_creates_a_dataset_from_mixed_good_and_bad_files(admin, settings):
    settings.TRAINING_UPLOAD_BATCH_FILES = 2
    dataset = make_dataset(admin)
    assert dataset.vendor_dataset_id is None and dataset.account_email == "demo@example.com"

    answer = upload(
        admin,
        dataset,
        picture("one.png"),
        picture("two.jpg", size=(512, 400), colour="orange"),
        picture("three.webp", size=(300, 600), colour="navy"),
        picture("tiny.png", size=(100, 100)),
        not_a_picture("notes.png"),
        picture("moving.gif", fmt="GIF"),
    )

    assert {name: item["state"] for name, item in answer.items()} == {
        "one.png": "waiting",
        "two.jpg": "waiting",
        "three.webp": "waiting",
        "tiny.png": "refused",
        "notes.png": "refused",
        "moving.gif": "refused",
    }
    assert "100×100" in answer["tiny.png"]["error"] and "256×256" in answer["tiny.png"]["error"]
    assert answer["notes.png"]["error"] == "This file is not a readable image."
    assert "PNG, JPEG and WebP" in answer["moving.gif"]["error"]

    dataset.refresh_from_db()
    assert dataset.vendor_dataset_id is not None  # created with the first batch, by the worker (inline here)
    added = dataset.images.filter(state=State.ADDED)
    assert added.count() == 3
    assert all(image.thumbnail and image.file and image.vendor_url for image in added)
    # Two batches of at most 2: the first creates the dataset, the second is added to it. Nothing refused left.
    assert stats.calls("upload_imgs") == 2
    assert stats.calls("dataset") == 1
    assert stats.calls("dataset/add_images") == 1
    assert SimUpload.objects.count() == 3

    page = admin.get(reverse("dataset_detail", args=[dataset.pk])).content.decode()
    assert "3 of 3 at Miaohua" in page
    assert "Refused files" in page and "This file is not a readable image." in page
    assert f"at Miaohua · #{dataset.vendor_dataset_id}" in page


def test_it_keeps_only_what_miaohua_accepted(admin, vendor):
    dataset = make_dataset(admin)
    upload(admin, dataset, picture("one.png"), picture("two.png", colour="gold"))
    dataset.refresh_from_db()
    assert vendor_paths(vendor, dataset) == set(dataset.images.values_list("vendor_path", flat=True))


def test_a_file_over_5_mb_is_refused_without_being_kept(admin):
    dataset = make_dataset(admin)
    noisy = Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3))
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    assert buffer.tell() > 5 * 1024 * 1024

    answer = upload(admin, dataset, SimpleUploadedFile("big.png", buffer.getvalue(), "image/png"))

    assert answer["big.png"]["state"] == "refused"
    assert "at most 5 MB" in answer["big.png"]["error"]
    assert not dataset.images.exclude(file="").exists()
    assert stats.calls("upload_imgs") == 0


def test_it_refuses_only_the_file_miaohua_refuses_in_a_batch(admin):
    dataset = make_dataset(admin)

    upload(
        admin, dataset, picture("a.png"), picture("simsensitive-b.png", colour="red"), picture("c.png", colour="blue")
    )

    states = dict(dataset.images.values_list("original_name", "state"))
    assert states == {"a.png": State.ADDED, "simsensitive-b.png": State.REFUSED, "c.png": State.ADDED}
    refused = dataset.images.get(original_name="simsensitive-b.png")
    assert refused.error.startswith("Miaohua refused this image")
    # The batch of 3 was refused whole (the vendor takes all or none), then each file was sent alone.
    assert stats.calls("upload_imgs") == 4
    assert stats.calls("dataset") == 1


def test_files_wait_until_the_page_says_it_has_sent_them_all(admin, settings):
    settings.TRAINING_UPLOAD_BATCH_FILES = 3
    dataset = make_dataset(admin)
    url = reverse("dataset_send", args=[dataset.pk])

    upload(admin, dataset, picture("one.png"), more=True)
    upload(admin, dataset, picture("two.png"), more=True)
    assert dataset.images.filter(state=State.WAITING).count() == 2 and stats.calls("upload_imgs") == 0

    assert admin.post(url, HTTP_ACCEPT="application/json").status_code == 204
    assert dataset.images.filter(state=State.ADDED).count() == 2
    assert stats.calls("upload_imgs") == 1  # one batch


def test_it_adds_and_removes_images(admin, vendor):
    dataset = make_dataset(admin)
    upload(admin, dataset, picture("one.png"), picture("two.png", colour="gold"), not_a_picture("bad.png"))
    upload(admin, dataset, picture("three.png", colour="pink"))
    dataset.refresh_from_db()
    assert stats.calls("dataset") == 1 and stats.calls("dataset/add_images") == 1
    assert len(vendor_paths(vendor, dataset)) == 3

    one = dataset.images.get(original_name="one.png")
    bad = dataset.images.get(original_name="bad.png")
    files = [one.file.path, one.thumbnail.path]
    response = admin.post(reverse("dataset_images_remove", args=[dataset.pk]), {"selected": [one.pk, bad.pk]})

    assert response.status_code == 302
    assert stats.calls("dataset/delete_images") == 1
    assert set(dataset.images.values_list("original_name", flat=True)) == {"two.png", "three.png"}
    assert vendor_paths(vendor, dataset) == set(dataset.images.values_list("vendor_path", flat=True))
    assert not any(os.path.exists(path) for path in files)


def test_an_image_miaohua_no_longer_has_is_removed_here_too(admin, vendor):
    dataset = make_dataset(admin)
    upload(admin, dataset, picture("one.png"), picture("two.png", colour="gold"))
    one = dataset.images.get(original_name="one.png")
    vendor.dataset_delete_images(dataset.refresh_from_db() or dataset.vendor_dataset_id, [one.vendor_url])

    admin.post(reverse("dataset_images_remove", args=[dataset.pk]), {"image": [one.pk]})

    assert not dataset.images.filter(pk=one.pk).exists()  # "invalid image": looked up, it is gone there
    assert dataset.images.count() == 1


def test_a_failed_file_is_retried_without_resending_the_others(admin, settings):
    dataset = make_dataset(admin)
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=500,endpoints=upload_imgs"
    settings.MIAOHUA_READ_TIMEOUT = 2
    upload(admin, dataset, picture("one.png"), picture("two.png", colour="gold"))
    assert set(dataset.images.values_list("state", flat=True)) == {State.FAILED}
    one = dataset.images.get(original_name="one.png")
    assert "cannot be reached" in one.error or "answered" in one.error

    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    stats.reset()
    page = admin.get(reverse("dataset_detail", args=[dataset.pk])).content.decode()
    assert "Retry all failed (2)" in page and 'aria-label="Retry one.png"' in page
    admin.post(reverse("dataset_images_retry", args=[dataset.pk]), {"image": [one.pk]})

    assert dataset.images.get(pk=one.pk).state == State.ADDED
    assert dataset.images.get(original_name="two.png").state == State.FAILED
    assert stats.calls("upload_imgs") == 1 and stats.calls("dataset") == 1


def test_the_vendor_dataset_is_created_once_even_when_miaohua_does_not_answer(admin, settings, vendor):
    dataset = make_dataset(admin)
    # Miaohua stalls past our timeout, then creates the dataset all the same.
    settings.MIAOHUA_SIMULATOR_FAULTS = "hang_rate=1,hang_seconds=1.5,hang_then=answer,endpoints=dataset"
    settings.MIAOHUA_READ_TIMEOUT = 0.5
    upload(admin, dataset, picture("one.png"))

    dataset.refresh_from_db()
    image = dataset.images.get()
    assert image.state == State.FAILED and "retry" in image.error
    assert dataset.vendor_dataset_id is None and dataset.vendor_create_attempted_at is not None
    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    settings.MIAOHUA_READ_TIMEOUT = 10
    deadline = time.time() + 10
    while not SimDataset.objects.exists() and time.time() < deadline:
        time.sleep(0.1)

    admin.post(reverse("dataset_images_retry", args=[dataset.pk]))

    dataset.refresh_from_db()
    assert stats.calls("dataset") == 1  # never sent twice: the one it made was found in dataset_all
    assert dataset.vendor_dataset_id == SimDataset.objects.get().id
    assert dataset.images.get().state == State.ADDED
    assert vendor_paths(vendor, dataset) == {dataset.images.get().vendor_path}


def test_it_adds_pictures_from_the_generation_history(admin, admin_user, teammate, settings):
    dataset = make_dataset(admin)

    def generated(owner, colour):
        task = GenerationTask.objects.create(owner=owner, prompt="a round cat", state=GenerationTask.State.DONE)
        image = GeneratedImage(task=task, save_index=0, mirror_state=GeneratedImage.MirrorState.STORED)
        buffer = io.BytesIO()
        Image.new("RGB", (640, 640), colour).save(buffer, "JPEG")
        image.file.save("large.jpg", ContentFile(buffer.getvalue()), save=False)
        image.save()
        return image

    mine, theirs = generated(admin_user, "teal"), generated(teammate, "red")
    picker = admin.get(reverse("dataset_from_history", args=[dataset.pk])).content.decode()
    assert f'value="{mine.pk}"' in picker and f'value="{theirs.pk}"' not in picker

    admin.post(reverse("dataset_from_history", args=[dataset.pk]), {"generated": [mine.pk, theirs.pk]})

    image = dataset.images.get()
    assert image.source == DatasetImage.Source.HISTORY and image.source_image == mine
    assert image.state == State.ADDED and image.file.name != mine.file.name  # our own copy


def test_it_imports_every_dataset_of_the_account(admin, admin_user, vendor):
    urls = vendor.upload_imgs([("a.png", picture("a.png").read()), ("b.png", picture("b.png", colour="red").read())])
    first = vendor.dataset_create("Studio portraits", "from the vendor's site", urls)
    # 21 more, straight into the simulator's tables (a test may force the vendor's state): two pages.
    owner = SimAccount.objects.get(email="demo@example.com")
    upload_id = str(SimUpload.objects.order_by("created_at").first().id)
    for i in range(21):
        SimDataset.objects.create(owner=owner, name=f"Set {i}", image_ids=[upload_id])

    response = admin.post(reverse("dataset_import"))

    assert response.status_code == 302
    run = DatasetImport.objects.get()
    assert run.state == DatasetImport.State.DONE, run.error
    assert (run.datasets_found, run.datasets_created, run.images_added) == (22, 22, 23)
    assert stats.calls("dataset_all") == 2
    portraits = Dataset.objects.get(vendor_dataset_id=first)
    assert portraits.name == "Studio portraits" and portraits.account_email == "demo@example.com"
    assert portraits.images.filter(state=State.ADDED).count() == 2
    assert all(image.file and image.thumbnail for image in portraits.images.all())  # downloaded by the fetch job

    # Again, after one image went at Miaohua: nothing doubles, the image goes here too.
    vendor.dataset_delete_images(first, urls[:1])
    admin.post(reverse("dataset_import"))
    assert Dataset.objects.count() == 22
    assert portraits.images.count() == 1
    assert DatasetImport.objects.order_by("-pk").first().images_removed == 1
    page = admin.get(reverse("dataset_list")).content.decode()
    assert "22 datasets found" in page


def test_a_second_import_click_while_one_runs_gets_the_first(admin, admin_user, account):
    running = DatasetImport.objects.create(
        upstream_account=account, account_email=account.email, state=DatasetImport.State.RUNNING
    )
    assert services.dataset_import_start(user=admin_user, account=account) == running


def test_it_serves_its_own_copy_of_the_images(admin, client, teammate):
    dataset = make_dataset(admin)
    upload(admin, dataset, picture("one.png"))
    image = dataset.images.get()

    client.force_login(teammate)  # a member may look
    thumb = client.get(reverse("dataset_image_file", args=[dataset.pk, image.pk, "thumb"]))
    original = client.get(reverse("dataset_image_file", args=[dataset.pk, image.pk, "original"]))

    assert thumb.status_code == 200 and b"".join(thumb.streaming_content)[:4] == b"RIFF"  # WebP
    assert original.status_code == 200
    assert client.get(reverse("dataset_image_file", args=[dataset.pk, image.pk, "other"])).status_code == 404


def test_the_image_list_stops_polling_once_nothing_moves(admin):
    dataset = make_dataset(admin)
    DatasetImage.objects.create(dataset=dataset, original_name="x.png", state=State.WAITING)
    moving = admin.get(reverse("dataset_images", args=[dataset.pk]), HTTP_HX_REQUEST="true")
    assert moving.status_code == 200 and 'hx-trigger="every 2s' in moving.content.decode()

    DatasetImage.objects.update(state=State.FAILED)
    still = admin.get(reverse("dataset_images", args=[dataset.pk]), HTTP_HX_REQUEST="true")
    assert still.status_code == 286 and "hx-trigger" not in still.content.decode()
    assert 'id="vendor-badge" class="align-text-bottom" hx-swap-oob="true"' in still.content.decode()


def test_name_and_description_are_edited_here(admin):
    dataset = make_dataset(admin)
    response = admin.post(reverse("dataset_edit", args=[dataset.pk]), {"name": "", "description": "kept"})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert "kept" in response.content.decode()

    admin.post(reverse("dataset_edit", args=[dataset.pk]), {"name": "Rounder cats", "description": "new"})
    dataset.refresh_from_db()
    assert (dataset.name, dataset.description) == ("Rounder cats", "new")


def test_the_plain_form_takes_many_files_at_once(admin):
    dataset = make_dataset(admin)
    response = admin.post(
        reverse("dataset_upload", args=[dataset.pk]),
        {"images": [picture("one.png"), picture("two.png", colour="gold"), not_a_picture()]},
    )
    assert response.status_code == 302 and response["Location"].endswith("#images")
    page = admin.get(response["Location"]).content.decode()
    assert "2 images received, on the way to Miaohua." in page and "1 file refused" in page
    assert dataset.images.filter(state=State.ADDED).count() == 2


def test_a_picture_with_far_too_many_pixels_is_refused_not_an_error(admin):
    dataset = make_dataset(admin)
    answer = upload(admin, dataset, picture("wide.png", size=(20000, 10000)))
    assert answer["wide.png"]["state"] == "refused" and "too many pixels" in answer["wide.png"]["error"]


def test_a_file_the_page_did_not_send_for_its_size_is_listed_as_refused(admin):
    """The page's script sends only the name of a file over 5 MB: it is listed as refused with the others."""
    dataset = make_dataset(admin)
    url = reverse("dataset_upload", args=[dataset.pk])
    response = admin.post(url, {"too_large": "big.png", "more": "1"}, HTTP_ACCEPT="application/json")
    (answer,) = response.json()["files"]
    assert answer["state"] == "refused" and "over 5 MB" in answer["error"]
    image = dataset.images.get()
    assert (image.original_name, image.state) == ("big.png", DatasetImage.State.REFUSED)
