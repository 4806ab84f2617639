"""Images are ours: a done task's images are downloaded into our storage with a WebP thumbnail, only from
allowed hosts and within a size cap; an expired link is refreshed at once; a failed download is retried later
with fresh links."""

import io
import threading
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django import db
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from generation import images, services
from generation.models import GeneratedImage, GenerationTask
from generation.services import mirror, recovery
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator import clock, stats
from miaohua_site.workers import engine
from miaohua_site.workers.leases import Lease
from tests.generation.test_submit import txt2img

State = GenerationTask.State
MirrorState = GeneratedImage.MirrorState
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connected(owner, simulator_url, settings, tmp_path):
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.2
    settings.MEDIA_ROOT = tmp_path / "media"
    return upstream_account_store(user=owner, email="demo@example.com", password="demo")


@pytest.fixture
def vendor_clock():
    yield clock
    clock.reset()


def generate(owner, **params) -> GenerationTask:
    task = services.generation_submit(user=owner, params=txt2img(**params), idempotency_key=uuid.uuid4())
    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message
    return task


def test_it_stores_every_image_with_its_size_and_a_thumbnail(owner, connected):
    task = generate(owner, n_images=2, output_size="640x960")

    stored = list(task.images.order_by("save_index"))
    assert [image.mirror_state for image in stored] == [MirrorState.STORED] * 2
    created = task.created_at
    for image in stored:
        assert image.file.name == f"generated/{created:%Y}/{created:%m}/{task.pk}/{image.save_index}.jpg"
        assert (image.width, image.height) == (640, 960)
        assert image.size_bytes == default_storage.size(image.file.name) > 0
        assert image.seed == 42
        assert image.mirror_attempts == 1 and image.mirror_error == ""
        assert task.finished_at <= image.stored_at <= timezone.now()
        with default_storage.open(image.file.name) as handle, Image.open(handle) as large:
            assert large.size == (640, 960)
        assert not image.preview  # small enough to be its own preview in the viewer
        with default_storage.open(image.thumbnail.name) as handle, Image.open(handle) as thumb:
            assert thumb.format == "WEBP"
            assert thumb.size == (256, 384)
    assert stats.calls("files") == 2  # the large of each image, once


def test_a_big_image_gets_the_vendors_preview_too(owner, connected):
    task = generate(owner, n_images=1, output_size="2048x1536")

    image = task.images.get()
    assert (image.width, image.height) == (2048, 1536)
    with default_storage.open(image.preview.name) as handle, Image.open(handle) as preview:
        assert max(preview.size) < 2048  # Miaohua's "middle"
    with default_storage.open(image.thumbnail.name) as handle, Image.open(handle) as thumb:
        assert thumb.size == (384, 288)
    assert stats.calls("files") == 2  # large and middle, once each


def test_it_refuses_images_from_a_host_not_on_the_allow_list(owner, connected, settings):
    settings.GENERATION_MIRROR_IMAGES = False
    task = generate(owner)
    image = task.images.get()
    api_host = urlsplit(settings.MIAOHUA_API_BASE).hostname
    other_host = "127.0.0.1" if api_host != "127.0.0.1" else "localhost"
    settings.MIAOHUA_IMAGE_HOSTS = []  # only the API's own host remains allowed
    GeneratedImage.objects.filter(pk=image.pk).update(
        upstream_large_url=image.upstream_large_url.replace(api_host, other_host, 1),
        upstream_middle_url=image.upstream_middle_url.replace(api_host, other_host, 1),
    )

    services.images_mirror(task_id=task.pk)

    image.refresh_from_db()
    assert image.mirror_state == MirrorState.FAILED
    assert f"not downloaded from {other_host}" in image.mirror_error
    assert not image.file and not image.thumbnail
    assert stats.calls("files") == 0  # refused before any request


def test_it_refuses_an_image_over_the_size_cap(owner, connected, settings):
    settings.MIAOHUA_IMAGE_MAX_BYTES = 1000

    task = generate(owner)

    image = task.images.get()
    assert image.mirror_state == MirrorState.FAILED
    assert "larger than" in image.mirror_error
    assert not image.file


def test_a_failed_download_is_retried_later_with_fresh_links(owner, connected, settings, vendor_clock):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=503,endpoints=files"
    task = generate(owner)
    image = task.images.get()
    assert image.mirror_state == MirrorState.FAILED
    assert "HTTP 503" in image.mirror_error
    old_link = image.upstream_large_url

    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    vendor_clock.advance(8 * 24 * 3600)  # meanwhile the vendor's links expired
    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    GeneratedImage.objects.filter(pk=image.pk).update(mirror_attempted_at=two_minutes_ago)
    engine.run_until_idle()

    image.refresh_from_db()
    assert image.mirror_state == MirrorState.STORED, image.mirror_error
    assert image.mirror_attempts == 2
    assert image.upstream_large_url != old_link
    assert stats.calls("task_result", code=0) == 1  # asked once for fresh links (after a re-login)


def test_a_failed_download_waits_for_its_back_off(owner, connected, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_status=503,endpoints=files"
    task = generate(owner)
    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    files = stats.calls("files")

    engine.run_until_idle()  # a minute has not passed since it failed

    assert task.images.get().mirror_state == MirrorState.FAILED
    assert stats.calls("files") == files


@pytest.mark.parametrize("refusal", [403, 404, 410])  # an object store's answer, and two CDNs'
def test_an_expired_link_is_refreshed_and_the_image_stored_at_once(owner, connected, settings, vendor_clock, refusal):
    settings.MIAOHUA_SIMULATOR_EXPIRED_LINK_STATUS = refusal
    settings.GENERATION_MIRROR_IMAGES = False
    task = generate(owner)
    vendor_clock.advance(8 * 24 * 3600)  # the links expired before anyone downloaded them

    assert services.images_mirror(task_id=task.pk) == {"stored": 1, "failed": 0}

    image = task.images.get()
    assert image.mirror_state == MirrorState.STORED and image.mirror_attempts == 1
    assert stats.calls("task_result", code=0) == 1
    assert stats.calls("files", status=refusal) == 1  # refused once, then stored with the fresh link


def test_an_expired_link_without_fresh_links_fails_in_plain_words(owner, connected, settings, vendor_clock):
    settings.GENERATION_MIRROR_IMAGES = False
    task = generate(owner)
    GenerationTask.objects.filter(pk=task.pk).update(upstream_task_id="unknown-to-miaohua")
    vendor_clock.advance(8 * 24 * 3600)

    services.images_mirror(task_id=task.pk)

    image = task.images.get()
    assert image.mirror_state == MirrorState.FAILED
    assert "expired" in image.mirror_error


def test_one_failed_image_does_not_block_the_others(owner, connected, settings):
    settings.GENERATION_MIRROR_IMAGES = False
    task = generate(owner, n_images=2)
    broken = task.images.get(save_index=0)
    GeneratedImage.objects.filter(pk=broken.pk).update(
        upstream_large_url="https://elsewhere.example/large.jpg", upstream_middle_url=""
    )

    outcome = services.images_mirror(task_id=task.pk)

    assert outcome == {"stored": 1, "failed": 1}
    assert task.images.get(save_index=0).mirror_state == MirrorState.FAILED
    assert task.images.get(save_index=1).mirror_state == MirrorState.STORED


def test_a_download_a_previous_engine_had_started_is_taken_up_by_the_next(owner, connected, settings):
    settings.GENERATION_MIRROR_IMAGES = False
    task = generate(owner)
    task.images.update(mirror_attempted_at=timezone.now() - timedelta(minutes=3), mirror_attempts=1)
    settings.GENERATION_MIRROR_IMAGES = True

    engine.run_until_idle()

    assert task.images.get().mirror_state == MirrorState.STORED


def test_it_stops_retrying_after_the_last_attempt(owner, connected, settings):
    settings.GENERATION_MIRROR_IMAGES = False
    task = generate(owner)
    long_ago = timezone.now() - timedelta(hours=2)
    task.images.update(mirror_state=MirrorState.FAILED, mirror_attempts=5, mirror_attempted_at=long_ago)
    settings.GENERATION_MIRROR_IMAGES = True

    engine.run_until_idle()

    image = task.images.get()
    assert (image.mirror_state, image.mirror_attempts) == (MirrorState.FAILED, 5)
    assert stats.calls("files") == 0


def test_a_second_mirror_job_does_not_download_again(owner, connected):
    task = generate(owner)
    files_before = stats.calls("files")

    assert services.images_mirror(task_id=task.pk) == {"stored": 0, "failed": 0}
    assert stats.calls("files") == files_before


def test_a_big_jpeg_is_thumbnailed_without_decoding_it_whole(db):
    picture = io.BytesIO()
    Image.new("RGB", (6144, 4096), "orange").save(picture, "JPEG", quality=80)
    picture.seek(0)
    with Image.open(picture) as probe:
        probe.draft("RGB", (images.THUMBNAIL_SIZE, images.THUMBNAIL_SIZE))
        assert probe.size == (768, 512)  # what the decoder is asked for: 1/8 scale, 1/64 of the pixels

    webp = images.thumbnail(picture)

    with Image.open(io.BytesIO(webp)) as thumb:
        assert thumb.format == "WEBP"
        assert thumb.size == (384, 256)


def test_an_image_is_claimed_by_one_engine_only(owner, connected, settings):
    settings.GENERATION_MIRROR_IMAGES = False
    task = generate(owner, n_images=2)
    ids = list(task.images.values_list("pk", flat=True))

    assert mirror.images_claim(ids, token="engine-a") == ids
    assert mirror.images_claim(ids, token="engine-b") == []  # taken: nothing for a second engine
    assert services.image_mirror(image_id=ids[0], token="engine-b") == "not claimed"
    assert services.image_mirror(image_id=ids[0], token="engine-a") == "stored"


def test_a_download_whose_engine_is_gone_waits_again_and_a_live_ones_does_not(owner, connected, settings):
    settings.GENERATION_MIRROR_IMAGES = False
    task = generate(owner, n_images=2)
    alive, gone = task.images.order_by("save_index")
    Lease(name="workers-process:alive", seconds=30, holder="alive").acquire()
    mirror.images_claim([alive.pk], token="alive")
    mirror.images_claim([gone.pk], token="gone")  # its process was killed: no lease of it is alive

    assert recovery.downloads_recover() == 1

    alive.refresh_from_db()
    gone.refresh_from_db()
    assert (alive.mirror_claim, alive.mirror_attempted_at is not None) == ("alive", True)
    assert (gone.mirror_claim, gone.mirror_attempted_at) == ("", None)  # the download lane takes it at once


def test_a_tasks_expired_links_are_refreshed_once_and_stored_at_once(owner, connected, settings, vendor_clock):
    settings.GENERATION_MIRROR_IMAGES = False
    task = generate(owner, n_images=4)
    vendor_clock.advance(8 * 24 * 3600)  # every link of the task expired before anyone downloaded it
    ids = list(task.images.values_list("pk", flat=True))
    claimed = mirror.images_claim(ids, token="engine")
    results, start = {}, threading.Barrier(len(ids))

    def download(pk):  # as the download lane's threads do, all four at once
        start.wait()
        try:
            results[pk] = mirror.image_mirror(image_id=pk, token="engine")
        finally:
            db.connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=download, args=(pk,)) for pk in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {pk: "stored" for pk in ids}
    assert all(image.mirror_attempts == 1 for image in task.images.all())
    assert stats.calls("task_result", code=0) == 1  # one answer carries every image's fresh link
    assert time.monotonic() - started < 10  # seconds, not the retry schedule's minutes
