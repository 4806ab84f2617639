"""Writes of the training app: datasets and their images (kept here, sent to Miaohua in batches), imports from
Miaohua, and LoRA training jobs (submit once, poll, find the trained LoRA), plus the recovery schedule.

Web requests only validate, store and enqueue (``dataset_create``, ``dataset_images_store``,
``training_submit`` …); everything that talks to the vendor runs in django-q2 jobs (``training/tasks.py``) that
call the functions below by primary key. Design as generation/services.py: claims by conditional UPDATE, the
vendor's non-repeatable calls recorded before they are sent, one lease per sweep, the per-account rate limiter.
"""

import contextlib
import io
import logging
import os
import time
import uuid
from datetime import timedelta
from itertools import islice

import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task
from PIL import Image, UnidentifiedImageError

from generation import catalog as generation_catalog
from generation import images as image_files
from generation import services as generation_services
from generation.leases import Lease, lease_is_free
from generation.ratelimit import RateLimiter
from generation.vendor_rules import UPLOAD_FORMATS, UPLOAD_MAX_BYTES, check_upload_image
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import client_for_account
from miaohua_site.upstream.errors import (
    AuthenticationError,
    ContentRefused,
    InvalidParameter,
    LoginFailed,
    NotFound,
    ProtocolError,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from miaohua_site.upstream.types import TrainProgress
from training.models import Dataset, DatasetImage, DatasetImport, TrainingEvent, TrainingJob, link_path
from training.selectors import notices_for

logger = logging.getLogger(__name__)

ImageState = DatasetImage.State
JobState = TrainingJob.State

SEND_JOB = "training.tasks.dataset_send_job"
REMOVE_JOB = "training.tasks.dataset_remove_job"
IMPORT_JOB = "training.tasks.dataset_import_job"
FETCH_JOB = "training.tasks.dataset_images_fetch_job"
SUBMIT_JOB = "training.tasks.training_submit_job"
POLL_JOB = "training.tasks.training_poll_job"
RECOVER_JOB = "training.tasks.training_recover_job"
RECOVER_SCHEDULE = "training: send waiting images, restart training pollers, recover stuck jobs"

# What a failure says, in plain words.
NOT_CONNECTED = "No connected Miaohua account for {email}: connect it under Settings, then retry."
ACCOUNT_CHANGED = "The Miaohua account changed since this was started; nothing was sent."
NO_ANSWER = "Miaohua did not answer; it may or may not have started — look at Miaohua before trying again."
NOT_REACHED = "Miaohua could not be reached, so nothing was sent — try again."
FILE_MISSING = "The file is no longer stored here; upload it again."
UPLOAD_UNANSWERED = "Miaohua did not answer while adding this image; a retry checks the dataset first."
CREATE_UNANSWERED = "Miaohua did not answer while creating the dataset; a retry looks for it first."
INTERRUPTED = "The sending was interrupted; retry to send the file again."
REMOVE_FAILED = "Miaohua did not remove this image: {reason}"
LORA_MISSING = "Miaohua finished the training, but no model named {name!r} is among the account's models yet."
TIMED_OUT = "Miaohua did not finish the training within {hours:g} hours."
UNKNOWN_TRAINING = "Miaohua does not know this training any more."

# train_progress states in words (the document shows only "done"; the others are seen in the wild).
VENDOR_STATES = {
    "pending": "Waiting for a trainer at Miaohua.",
    "running": "Training at Miaohua.",
    "done": "Miaohua finished the training; looking for the LoRA.",
}

DELETE_CHUNK = 50


def _setting(name: str, default):
    return getattr(settings, name, default)


def _batched(items, size: int):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _enqueue(func: str, *args, **kwargs) -> None:
    """Enqueue a job once the current transaction commits. A broker failure in a web request is logged, not
    shown: the recovery schedule finds what was not enqueued."""

    def send() -> None:
        async_task(func, *args, **kwargs)

    transaction.on_commit(send, robust=not Conf.SYNC)


def account_for_email(email: str, *, prefer: UpstreamAccount | None = None) -> UpstreamAccount | None:
    """The connected account for a Miaohua email (the one given first when it still matches)."""
    if prefer is not None and prefer.email.lower() == (email or "").lower():
        return prefer
    return UpstreamAccount.objects.filter(email__iexact=email).order_by("pk").first() if email else None


def _tick(dataset_id: int) -> None:
    Dataset.objects.filter(pk=dataset_id).update(updated_at=timezone.now())


# --- Datasets: what a web request does ---------------------------------------------------------------------


def dataset_create(*, user, account: UpstreamAccount, name: str, description: str = "") -> Dataset:
    """A new dataset on ``account``; it reaches Miaohua with its first batch of images (the vendor's
    ``dataset`` call takes the images)."""
    return Dataset.objects.create(
        name=name.strip(),
        description=description.strip(),
        created_by=user,
        upstream_account=account,
        account_email=account.email,
    )


def dataset_update(*, dataset: Dataset, name: str, description: str) -> Dataset:
    """Name and description as shown here. Miaohua has no call to rename a dataset: once the dataset is there,
    the vendor keeps the name it was created with."""
    dataset.name, dataset.description, dataset.updated_at = name.strip(), description.strip(), timezone.now()
    dataset.save(update_fields=["name", "description", "updated_at"])
    return dataset


def _safe_name(name: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    return base[:255] or "image"


def _check(file) -> tuple[int, int]:
    """The vendor's rules (generation.vendor_rules), and a picture too large in pixels to even open."""
    try:
        return check_upload_image(file)
    except Image.DecompressionBombError:
        raise ValidationError("This image has far too many pixels; Miaohua accepts at most 6144×6144.") from None


def dataset_images_store(*, dataset: Dataset, files, too_large=()) -> list[DatasetImage]:
    """Check each file against the vendor's rules (types, ≤ 5 MB, 256²–6144², decodable) and keep it here:
    a good one is stored (moved from its temporary file, or copied in chunks) and waits to be sent; a refused
    one is listed with the reason and never sent. ``too_large`` names files the upload handler cut off."""
    made = []
    for name in too_large:
        made.append(
            DatasetImage.objects.create(
                dataset=dataset,
                state=ImageState.REFUSED,
                original_name=_safe_name(name),
                error=f"This image is over {UPLOAD_MAX_BYTES // (1024 * 1024)} MB; Miaohua accepts at most 5 MB.",
            )
        )
    for upload in files:
        name = _safe_name(upload.name)
        try:
            width, height = _check(upload)
        except ValidationError as exc:
            made.append(
                DatasetImage.objects.create(
                    dataset=dataset,
                    state=ImageState.REFUSED,
                    original_name=name,
                    size_bytes=upload.size,
                    error=" ".join(exc.messages),
                )
            )
            continue
        image = DatasetImage(dataset=dataset, original_name=name, width=width, height=height, size_bytes=upload.size)
        upload.seek(0)
        image.file.save(name, upload, save=False)  # a temporary upload is moved, anything else copied in chunks
        image.save()
        made.append(image)
    _tick(dataset.pk)
    return made


def _vendor_ready_jpeg(handle) -> io.BytesIO:
    """A JPEG within 5 MB for a history image that is too big or of another format."""
    with Image.open(handle) as picture:
        picture = picture.convert("RGB")
        out = io.BytesIO()
        for quality, scale in ((92, 1.0), (85, 1.0), (85, 0.75), (80, 0.5)):
            out.seek(0)
            out.truncate()
            frame = picture
            if scale < 1.0:
                frame = picture.resize((max(1, int(picture.width * scale)), max(1, int(picture.height * scale))))
            frame.save(out, "JPEG", quality=quality)
            if out.tell() <= UPLOAD_MAX_BYTES:
                break
    out.seek(0)
    return out


def dataset_images_from_history(*, user, dataset: Dataset, images) -> list[DatasetImage]:
    """Copy generated images of ``user`` into the dataset (checked like uploads; one too big or of another
    format is re-encoded as JPEG first, since it is our own picture)."""
    made = []
    for generated in images:
        if generated.task.owner_id != user.pk:
            raise PermissionDenied("Not your image.")
        name = f"task{generated.task_id}-{generated.save_index}{os.path.splitext(generated.file.name or '')[1]}"
        if not generated.file or not generated.file.storage.exists(generated.file.name):
            made.append(
                DatasetImage.objects.create(
                    dataset=dataset,
                    state=ImageState.REFUSED,
                    source=DatasetImage.Source.HISTORY,
                    source_image=generated,
                    original_name=name,
                    error="This image has not been stored yet; try again in a moment.",
                )
            )
            continue
        with generated.file.open("rb") as handle:
            content = File(handle, name=name)
            try:
                with Image.open(handle) as picture:
                    fmt = picture.format
            except (UnidentifiedImageError, OSError):
                fmt = None
            handle.seek(0)
            if fmt is not None and (fmt not in UPLOAD_FORMATS or generated.file.size > UPLOAD_MAX_BYTES):
                name = os.path.splitext(name)[0] + ".jpg"
                content = File(_vendor_ready_jpeg(handle), name=name)
            try:
                width, height = _check(content)
            except ValidationError as exc:
                made.append(
                    DatasetImage.objects.create(
                        dataset=dataset,
                        state=ImageState.REFUSED,
                        source=DatasetImage.Source.HISTORY,
                        source_image=generated,
                        original_name=name,
                        error=" ".join(exc.messages),
                    )
                )
                continue
            image = DatasetImage(
                dataset=dataset,
                source=DatasetImage.Source.HISTORY,
                source_image=generated,
                original_name=name,
                width=width,
                height=height,
                size_bytes=content.size,
            )
            content.seek(0)
            image.file.save(name, content, save=False)
            if generated.thumbnail:
                with generated.thumbnail.open("rb") as thumb:
                    image.thumbnail.save("thumb.webp", File(thumb), save=False)
            image.save()
            made.append(image)
    _tick(dataset.pk)
    return made


def _delete_files(images) -> None:
    for image in images:
        for field in (image.file, image.thumbnail):
            if field:
                with contextlib.suppress(OSError):
                    field.storage.delete(field.name)


def dataset_images_remove(*, dataset: Dataset, image_ids) -> dict:
    """Remove images. One Miaohua has (or may have) goes through dataset/delete_images in the worker and
    stays until the vendor says it is gone; one it never had is deleted here at once."""
    ids = [int(i) for i in image_ids]
    counts = {"removed": 0, "removing": 0}
    if dataset.on_vendor:
        counts["removing"] = (
            DatasetImage.objects.filter(dataset=dataset, pk__in=ids)
            .filter(Q(state=ImageState.ADDED) | Q(state=ImageState.FAILED, vendor_url__gt=""))
            .update(state=ImageState.REMOVING, claim="", claimed_at=None, error="")
        )
    local = list(
        DatasetImage.objects.filter(
            dataset=dataset, pk__in=ids, state__in=(ImageState.WAITING, ImageState.REFUSED, ImageState.FAILED)
        )
    )
    # A conditional delete: a file a sender claimed meanwhile (now "sending") stays.
    deleted = DatasetImage.objects.filter(
        pk__in=[i.pk for i in local], state__in=(ImageState.WAITING, ImageState.REFUSED, ImageState.FAILED)
    ).delete()[0]
    _delete_files(local)
    counts["removed"] = deleted
    if counts["removing"]:
        _enqueue(REMOVE_JOB, dataset.pk, task_name=f"dataset-remove-{dataset.pk}-{uuid.uuid4().hex[:8]}")
    _tick(dataset.pk)
    return counts


def dataset_images_retry(*, dataset: Dataset, image_ids=None) -> int:
    """Failed images (all, or the ones given) wait to be sent again; nothing else is re-sent."""
    rows = DatasetImage.objects.filter(dataset=dataset, state=ImageState.FAILED)
    if image_ids is not None:
        rows = rows.filter(pk__in=[int(i) for i in image_ids])
    count = rows.exclude(file="").update(state=ImageState.WAITING, error="", claim="", claimed_at=None)
    if count:
        Dataset.objects.filter(pk=dataset.pk).update(vendor_error="")
        dataset_send_start(dataset_id=dataset.pk)
    return count


def send_lease_name(dataset_id: int) -> str:
    return f"dataset-send:{dataset_id}"


def dataset_send_start(*, dataset_id: int) -> None:
    """Make sure a sender runs for the dataset: enqueue one unless one holds its lease."""
    if lease_is_free(send_lease_name(dataset_id)):
        _enqueue(SEND_JOB, dataset_id, task_name=f"dataset-send-{dataset_id}-{uuid.uuid4().hex[:8]}")


def dataset_import_start(*, user, account: UpstreamAccount) -> DatasetImport:
    """An import of every dataset of the account (one at a time per account: a second click gets the first)."""
    running = DatasetImport.objects.filter(
        account_email__iexact=account.email, state__in=(DatasetImport.State.QUEUED, DatasetImport.State.RUNNING)
    ).first()
    if running is not None:
        return running
    run = DatasetImport.objects.create(upstream_account=account, account_email=account.email, requested_by=user)
    _enqueue(IMPORT_JOB, run.pk, task_name=f"dataset-import-{run.pk}")
    return run


# --- Datasets: the worker ----------------------------------------------------------------------------------


def _make_thumbnail(image: DatasetImage) -> None:
    if image.thumbnail or not image.file:
        return
    with image.file.open("rb") as handle:
        data = image_files.thumbnail(handle)
    image.thumbnail.save("thumb.webp", ContentFile(data), save=False)
    DatasetImage.objects.filter(pk=image.pk).update(thumbnail=image.thumbnail.name)


def _claim_batch(dataset_id: int) -> list[DatasetImage]:
    """Take the next waiting images (≤ TRAINING_UPLOAD_BATCH_FILES files and ≤ …_BYTES bytes) for sending."""
    max_files = int(_setting("TRAINING_UPLOAD_BATCH_FILES", 10))
    max_bytes = int(_setting("TRAINING_UPLOAD_BATCH_BYTES", 40 * 1024 * 1024))
    ids, total = [], 0
    for pk, size in (
        DatasetImage.objects.filter(dataset_id=dataset_id, state=ImageState.WAITING)
        .order_by("id")
        .values_list("pk", "size_bytes")[:max_files]
    ):
        if ids and total + (size or 0) > max_bytes:
            break
        ids.append(pk)
        total += size or 0
    if not ids:
        return []
    claim = uuid.uuid4().hex
    DatasetImage.objects.filter(pk__in=ids, state=ImageState.WAITING).update(
        state=ImageState.SENDING, claim=claim, claimed_at=timezone.now(), attempts=F("attempts") + 1
    )
    return list(DatasetImage.objects.filter(claim=claim, state=ImageState.SENDING).order_by("id"))


def _set_state(images, state: str, *, error: str = "", **extra) -> None:
    if not images:
        return
    DatasetImage.objects.filter(pk__in=[i.pk for i in images]).update(
        state=state, error=error, claim="", claimed_at=None, **extra
    )


class _Stop(Exception):
    """The sender cannot go on (account, login, vendor out of reach): what is left waits for a retry."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def vendor_datasets(client) -> list:
    """Every dataset of the account, all pages of dataset_all."""
    found, page = [], 1
    while True:
        result = client.dataset_all(page=page)
        found.extend(result.items)
        if not result.has_next or not result.items or page >= int(_setting("TRAINING_DATASET_MAX_PAGES", 500)):
            return found
        page += 1


def _vendor_paths(client, vendor_dataset_id: int) -> set[str] | None:
    """The image paths Miaohua has in one dataset (None when the dataset is not in its list)."""
    for item in vendor_datasets(client):
        if item.id == vendor_dataset_id:
            return {link_path(url) for url in item.images}
    return None


def _upload(client, images: list[DatasetImage], report: dict) -> list[tuple[DatasetImage, str]]:
    """upload_imgs for the batch; a refusal of the whole batch is narrowed down file by file, so only the
    files Miaohua refuses are marked refused. Returns (image, url) for the accepted ones."""
    with contextlib.ExitStack() as stack:
        files = [(image.original_name, stack.enter_context(image.file.open("rb"))) for image in images]
        try:
            urls = client.upload_imgs(files)
        except (ContentRefused, InvalidParameter) as exc:
            if len(images) == 1:
                _set_state(images, ImageState.REFUSED, error=f"Miaohua refused this image: {exc.user_message}")
                report["refused"] += 1
                return []
            refusal = exc
        else:
            return list(zip(images, urls, strict=True))
    logger.info("dataset upload: a batch of %d was refused (%s); sending one by one", len(images), refusal)
    accepted = []
    for image in images:
        accepted.extend(_upload(client, [image], report))
    return accepted


def _adopt_unanswered(client, dataset: Dataset) -> None:
    """An earlier `dataset` call went unanswered: find what it made in dataset_all (the newest one of that name
    not linked here) and take it; when there is none, the attempt made nothing and the next one is the first."""
    linked = set(
        Dataset.objects.filter(
            account_email__iexact=dataset.account_email, vendor_dataset_id__isnull=False
        ).values_list("vendor_dataset_id", flat=True)
    )
    try:
        same_name = [d for d in vendor_datasets(client) if d.name == dataset.name and d.id not in linked]
    except UpstreamError as exc:
        raise _Stop(exc.user_message) from None
    if same_name:
        vendor_id = max(same_name, key=lambda d: d.id).id
        Dataset.objects.filter(pk=dataset.pk).update(vendor_dataset_id=vendor_id, vendor_error="")
        dataset.vendor_dataset_id = vendor_id
    else:
        Dataset.objects.filter(pk=dataset.pk).update(vendor_create_attempted_at=None)
        dataset.vendor_create_attempted_at = None


def _create_vendor_dataset(client, dataset: Dataset, urls: list[str]) -> None:
    """Create the vendor dataset with its first images. `dataset` is sent once: the attempt is written first,
    by a conditional UPDATE, and an unanswered one is looked for (``_adopt_unanswered``), never resent."""
    attempt = timezone.now()
    taken = Dataset.objects.filter(
        pk=dataset.pk, vendor_dataset_id__isnull=True, vendor_create_attempted_at__isnull=True
    ).update(vendor_create_attempted_at=attempt)
    if not taken:
        raise _Stop("Another worker is creating this dataset at Miaohua; retry in a moment.")
    try:
        vendor_id = client.dataset_create(dataset.name, dataset.description, urls)
    except UpstreamUnavailable as exc:
        if not exc.may_have_reached_vendor:
            Dataset.objects.filter(pk=dataset.pk).update(vendor_create_attempted_at=None)
            raise _Stop(NOT_REACHED) from None
        Dataset.objects.filter(pk=dataset.pk).update(vendor_error=CREATE_UNANSWERED)
        raise _Stop(CREATE_UNANSWERED) from None
    except ProtocolError:
        Dataset.objects.filter(pk=dataset.pk).update(vendor_error=CREATE_UNANSWERED)
        raise _Stop(CREATE_UNANSWERED) from None
    except (AuthenticationError, LoginFailed) as exc:
        Dataset.objects.filter(pk=dataset.pk).update(vendor_create_attempted_at=None)
        raise _Stop(exc.user_message) from None
    except UpstreamError as exc:  # a refusal: nothing was created
        message = f"Miaohua refused to create the dataset: {exc.user_message}"
        Dataset.objects.filter(pk=dataset.pk).update(vendor_create_attempted_at=None, vendor_error=message)
        raise _Stop(message) from None
    Dataset.objects.filter(pk=dataset.pk).update(vendor_dataset_id=vendor_id, vendor_error="", updated_at=attempt)
    dataset.vendor_dataset_id = vendor_id


def _send_batch(client, dataset: Dataset, batch: list[DatasetImage], report: dict) -> None:
    ready = []
    for image in batch:
        if not image.file or not image.file.storage.exists(image.file.name):
            _set_state([image], ImageState.FAILED, error=FILE_MISSING)
            report["failed"] += 1
            continue
        try:
            _make_thumbnail(image)
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError):
            logger.info("dataset %s: no thumbnail for %s", dataset.pk, image, exc_info=True)
        ready.append(image)
    if not ready:
        return
    dataset.refresh_from_db()
    if dataset.vendor_dataset_id is None and dataset.vendor_create_attempted_at is not None:
        _adopt_unanswered(client, dataset)
    # Files sent before whose add went unanswered: Miaohua may have them already. Look before sending again.
    if dataset.on_vendor and any(image.vendor_url for image in ready):
        try:
            paths = _vendor_paths(client, dataset.vendor_dataset_id) or set()
        except UpstreamError as exc:
            raise _Stop(exc.user_message) from None
        there = [image for image in ready if image.vendor_path and image.vendor_path in paths]
        _set_state(there, ImageState.ADDED, added_at=timezone.now())
        report["added"] += len(there)
        ready = [image for image in ready if image not in there]
        if not ready:
            return
    try:
        accepted = _upload(client, ready, report)
    except UpstreamError as exc:  # out of reach, login, an odd answer: what is left waits for a retry
        raise _Stop(exc.user_message) from None
    if not accepted:
        return
    report["sent"] += len(accepted)
    for image, url in accepted:
        image.set_vendor_url(url)
        DatasetImage.objects.filter(pk=image.pk).update(vendor_url=image.vendor_url, vendor_path=image.vendor_path)
    images = [image for image, _ in accepted]
    urls = [url for _, url in accepted]
    if not dataset.on_vendor:
        _create_vendor_dataset(client, dataset, urls)
    else:
        try:
            client.dataset_add_images(dataset.vendor_dataset_id, urls)
        except UpstreamUnavailable as exc:
            message = UPLOAD_UNANSWERED if exc.may_have_reached_vendor else NOT_REACHED
            _set_state(images, ImageState.FAILED, error=message)
            report["failed"] += len(images)
            raise _Stop(message) from None
        except ProtocolError:
            _set_state(images, ImageState.FAILED, error=UPLOAD_UNANSWERED)
            report["failed"] += len(images)
            raise _Stop(UPLOAD_UNANSWERED) from None
        except (AuthenticationError, LoginFailed) as exc:
            raise _Stop(exc.user_message) from None
        except UpstreamError as exc:  # "invalid image": the vendor did not take them
            _set_state(images, ImageState.FAILED, error=f"Miaohua did not add this image: {exc.user_message}")
            report["failed"] += len(images)
            return
    _set_state(images, ImageState.ADDED, added_at=timezone.now())
    report["added"] += len(images)


def dataset_send(*, dataset_id: int) -> dict:
    """The sender: under the dataset's lease, take waiting images in batches, upload them (upload_imgs), then
    create the vendor dataset with the first batch or add to it (dataset/add_images); until none waits.
    A failure that stops it (login, vendor out of reach) marks what was taken and what waits as failed, with
    the reason, so each can be retried on its own."""
    report = {"dataset_id": dataset_id, "batches": 0, "sent": 0, "added": 0, "refused": 0, "failed": 0}
    lease = Lease(send_lease_name(dataset_id), seconds=float(_setting("TRAINING_SEND_LEASE_SECONDS", 300)))
    if not lease.acquire():
        report["busy"] = True
        return report
    client = None
    batch: list[DatasetImage] = []
    try:
        dataset = Dataset.objects.filter(pk=dataset_id).first()
        if dataset is None:
            return report
        account = account_for_email(dataset.account_email, prefer=dataset.upstream_account)
        if account is None:
            raise _Stop(NOT_CONNECTED.format(email=dataset.account_email))
        client = client_for_account(account)
        deadline = time.monotonic() + float(_setting("TRAINING_SEND_BUDGET_SECONDS", 120))
        while True:
            if not lease.renew():
                report["stopped"] = "lease lost"
                return report
            if time.monotonic() > deadline and not Conf.SYNC:
                # Within django-q2's timeout: a fresh job carries on with what still waits.
                lease.release()
                dataset_send_start(dataset_id=dataset_id)
                report["stopped"] = "time budget spent"
                return report
            batch = _claim_batch(dataset_id)
            if not batch:
                # Release, then look once more: a file that arrived meanwhile found our lease held.
                lease.release()
                if DatasetImage.objects.filter(dataset_id=dataset_id, state=ImageState.WAITING).exists():
                    if lease.acquire():
                        continue
                return report
            report["batches"] += 1
            _send_batch(client, dataset, batch, report)
            batch = []
            _tick(dataset_id)
    except _Stop as stop:
        still = [
            image for image in batch if DatasetImage.objects.filter(pk=image.pk, state=ImageState.SENDING).exists()
        ]
        _set_state(still, ImageState.FAILED, error=stop.message)
        waiting = DatasetImage.objects.filter(dataset_id=dataset_id, state=ImageState.WAITING)
        report["failed"] += len(still) + waiting.update(state=ImageState.FAILED, error=stop.message)
        report["stopped"] = stop.message
        logger.info("dataset %s: sending stopped: %s", dataset_id, stop.message)
        _tick(dataset_id)
        return report
    finally:
        if client is not None:
            client.close()
        if lease.held:
            lease.release()


def dataset_remove(*, dataset_id: int) -> dict:
    """dataset/delete_images for the images marked ``removing`` (≤ 50 a call). Removed here only once Miaohua
    says so; an image Miaohua no longer has is removed too; anything else goes back, with the reason."""
    report = {"dataset_id": dataset_id, "removed": 0, "kept": 0}
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None or dataset.vendor_dataset_id is None:
        return report
    claim = uuid.uuid4().hex
    stale = timezone.now() - timedelta(seconds=float(_setting("TRAINING_SEND_LEASE_SECONDS", 300)))
    DatasetImage.objects.filter(dataset_id=dataset_id, state=ImageState.REMOVING).filter(
        Q(claim="") | Q(claimed_at__lt=stale)
    ).update(claim=claim, claimed_at=timezone.now())
    images = list(DatasetImage.objects.filter(claim=claim, state=ImageState.REMOVING))
    if not images:
        return report
    account = account_for_email(dataset.account_email, prefer=dataset.upstream_account)
    if account is None:
        _set_state(images, ImageState.ADDED, error=REMOVE_FAILED.format(reason="no connected account."))
        report["kept"] = len(images)
        return report
    client = client_for_account(account)
    try:
        for chunk in _batched(images, DELETE_CHUNK):
            try:
                client.dataset_delete_images(dataset.vendor_dataset_id, [image.vendor_url for image in chunk])
            except (InvalidParameter, UpstreamUnavailable, ProtocolError) as exc:
                # One of them is not there ("invalid image"), or no answer: ask what the dataset holds.
                try:
                    paths = _vendor_paths(client, dataset.vendor_dataset_id) or set()
                except UpstreamError:
                    paths = None
                if paths is None:
                    _set_state(chunk, ImageState.ADDED, error=REMOVE_FAILED.format(reason=exc.user_message))
                    report["kept"] += len(chunk)
                    continue
                gone = [image for image in chunk if image.vendor_path not in paths]
                left = [image for image in chunk if image.vendor_path in paths]
                if left and isinstance(exc, InvalidParameter) and gone:
                    try:  # the refusal came from the ones already gone: remove the others alone
                        client.dataset_delete_images(dataset.vendor_dataset_id, [i.vendor_url for i in left])
                        gone, left = chunk, []
                    except UpstreamError:
                        pass
                _remove_rows(gone)
                report["removed"] += len(gone)
                _set_state(left, ImageState.ADDED, error=REMOVE_FAILED.format(reason=exc.user_message))
                report["kept"] += len(left)
                continue
            except UpstreamError as exc:
                _set_state(chunk, ImageState.ADDED, error=REMOVE_FAILED.format(reason=exc.user_message))
                report["kept"] += len(chunk)
                continue
            _remove_rows(chunk)
            report["removed"] += len(chunk)
    finally:
        client.close()
    _tick(dataset_id)
    return report


def _remove_rows(images) -> None:
    if images:
        DatasetImage.objects.filter(pk__in=[i.pk for i in images]).delete()
        _delete_files(images)


def dataset_import(*, import_id: int) -> dict:
    """Mirror every dataset of the account (all pages of dataset_all): new datasets and images appear here,
    images Miaohua no longer has go; the files are then downloaded by one job per dataset."""
    now = timezone.now()
    if not DatasetImport.objects.filter(pk=import_id, state=DatasetImport.State.QUEUED).update(
        state=DatasetImport.State.RUNNING, started_at=now
    ):
        return {"import_id": import_id, "skipped": "not queued"}
    run = DatasetImport.objects.get(pk=import_id)
    account = account_for_email(run.account_email, prefer=run.upstream_account)
    if account is None:
        DatasetImport.objects.filter(pk=import_id).update(
            state=DatasetImport.State.FAILED, error=NOT_CONNECTED.format(email=run.account_email), finished_at=now
        )
        return {"import_id": import_id, "failed": "not connected"}
    client = client_for_account(account)
    try:
        fetched_at = timezone.now()
        items = vendor_datasets(client)
    except UpstreamError as exc:
        DatasetImport.objects.filter(pk=import_id).update(
            state=DatasetImport.State.FAILED,
            error=f"Miaohua's list of datasets could not be read: {exc.user_message}",
            finished_at=timezone.now(),
        )
        return {"import_id": import_id, "failed": str(exc)}
    finally:
        client.close()
    counts = {"datasets_found": len(items), "datasets_created": 0, "images_added": 0, "images_removed": 0}
    touched = []
    for item in items:
        dataset, created = _import_dataset(run, account, item)
        counts["datasets_created"] += created
        added, removed = _import_images(dataset, item.images, fetched_at)
        counts["images_added"] += added
        counts["images_removed"] += removed
        touched.append(dataset.pk)
    DatasetImport.objects.filter(pk=import_id).update(
        state=DatasetImport.State.DONE, finished_at=timezone.now(), **counts
    )
    for dataset_id in touched:
        if DatasetImage.objects.filter(dataset_id=dataset_id, file="", file_error="").exclude(vendor_url="").exists():
            _enqueue(FETCH_JOB, dataset_id, task_name=f"dataset-fetch-{dataset_id}-{uuid.uuid4().hex[:8]}")
    return {"import_id": import_id, **counts}


def _import_dataset(run: DatasetImport, account: UpstreamAccount, item) -> tuple[Dataset, bool]:
    email = run.account_email
    dataset = Dataset.objects.filter(account_email__iexact=email, vendor_dataset_id=item.id).first()
    if dataset is None:
        # A dataset whose creation went unanswered here, and that Miaohua did make: the same one.
        dataset = (
            Dataset.objects.filter(
                account_email__iexact=email,
                vendor_dataset_id__isnull=True,
                vendor_create_attempted_at__isnull=False,
                name=item.name,
            )
            .order_by("pk")
            .first()
        )
        if dataset is not None:
            Dataset.objects.filter(pk=dataset.pk).update(vendor_dataset_id=item.id, vendor_error="")
            dataset.vendor_dataset_id = item.id
    if dataset is not None:
        Dataset.objects.filter(pk=dataset.pk).update(imported_at=timezone.now(), upstream_account=account)
        return dataset, False
    try:
        with transaction.atomic():
            dataset = Dataset.objects.create(
                name=item.name[:100] or f"Dataset {item.id}",
                description=item.description,
                created_by=run.requested_by,
                upstream_account=account,
                account_email=email,
                vendor_dataset_id=item.id,
                vendor_create_attempted_at=timezone.now(),
                imported_at=timezone.now(),
            )
    except IntegrityError:  # another import made it a moment ago
        return Dataset.objects.get(account_email=email, vendor_dataset_id=item.id), False
    return dataset, True


def _import_images(dataset: Dataset, urls: list[str], fetched_at) -> tuple[int, int]:
    by_path = {link_path(url): url for url in urls}
    known = dict(DatasetImage.objects.filter(dataset=dataset).exclude(vendor_path="").values_list("vendor_path", "pk"))
    new = [
        DatasetImage(
            dataset=dataset,
            state=ImageState.ADDED,
            source=DatasetImage.Source.MIAOHUA,
            original_name=os.path.basename(path)[:255],
            vendor_url=url,
            vendor_path=path,
            added_at=fetched_at,
        )
        for path, url in by_path.items()
        if path not in known
    ]
    DatasetImage.objects.bulk_create(new)
    # Fresh links for the images already here (the old ones may have expired).
    for path, pk in known.items():
        if path in by_path:
            DatasetImage.objects.filter(pk=pk).update(vendor_url=by_path[path])
    # What Miaohua no longer has goes here too (not what was added after the list was read).
    gone = list(
        DatasetImage.objects.filter(dataset=dataset, state=ImageState.ADDED, added_at__lt=fetched_at).exclude(
            vendor_path__in=list(by_path)
        )
    )
    _remove_rows(gone)
    if new or gone:
        _tick(dataset.pk)
    return len(new), len(gone)


def dataset_images_fetch(*, dataset_id: int) -> dict:
    """Download the imported images that have no local file yet (and make their thumbnails)."""
    report = {"dataset_id": dataset_id, "stored": 0, "failed": 0}
    deadline = time.monotonic() + float(_setting("TRAINING_SEND_BUDGET_SECONDS", 120))
    session = requests.Session()
    try:
        for image in DatasetImage.objects.filter(dataset_id=dataset_id, file="", file_error="").exclude(vendor_url=""):
            if time.monotonic() > deadline and not Conf.SYNC:  # a fresh job carries on
                _enqueue(FETCH_JOB, dataset_id, task_name=f"dataset-fetch-{dataset_id}-{uuid.uuid4().hex[:8]}")
                report["stopped"] = "time budget spent"
                break
            try:
                download = image_files.download(image.vendor_url, session=session)
            except image_files.DownloadError as exc:
                DatasetImage.objects.filter(pk=image.pk).update(file_error=str(exc))
                report["failed"] += 1
                continue
            try:
                image.file.save(f"image{download.extension}", File(download.file), save=False)
                thumb = image_files.thumbnail(download.file)
                image.thumbnail.save("thumb.webp", ContentFile(thumb), save=False)
            finally:
                download.close()
            DatasetImage.objects.filter(pk=image.pk).update(
                file=image.file.name,
                thumbnail=image.thumbnail.name,
                width=download.width,
                height=download.height,
                size_bytes=download.size,
            )
            report["stored"] += 1
    finally:
        session.close()
    return report


# --- Training ----------------------------------------------------------------------------------------------


def _event(job_id: int, state: str, message: str = "", *, vendor_state: str = "", progress=None, at=None) -> None:
    TrainingEvent.objects.create(
        job_id=job_id, state=state, message=message, vendor_state=vendor_state, progress=progress,
        at=at or timezone.now(),
    )  # fmt: skip


def training_submit(
    *,
    user,
    account: UpstreamAccount,
    name: str,
    description: str,
    base_model: str,
    main_body: str,
    trigger_word: str,
    datasets,
    idempotency_key: uuid.UUID,
) -> TrainingJob:
    """Store a job (``queued``) and enqueue its submit job; no vendor call here. The same idempotency key (a
    resent form, a double click) gives back the job it made the first time."""
    existing = TrainingJob.objects.filter(owner=user, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    datasets = list(datasets)
    job = TrainingJob(
        owner=user,
        upstream_account=account,
        account_email=account.email,
        idempotency_key=idempotency_key,
        name=name.strip(),
        description=description.strip(),
        base_model=base_model,
        main_body=main_body,
        trigger_word=trigger_word.strip(),
        vendor_dataset_ids=[d.vendor_dataset_id for d in datasets],
    )
    try:
        with transaction.atomic():
            job.save()
            job.datasets.set(datasets)
            _event(job.pk, JobState.QUEUED, "Queued.", at=job.created_at)
    except IntegrityError:
        return TrainingJob.objects.get(owner=user, idempotency_key=idempotency_key)
    _enqueue(SUBMIT_JOB, job.pk, task_name=f"training-submit-{job.pk}")
    return job


def _fail_job(job_id: int, message: str, *, from_states=(JobState.SUBMITTING,), **extra) -> bool:
    now = timezone.now()
    moved = TrainingJob.objects.filter(pk=job_id, state__in=from_states).update(
        state=JobState.FAILED, error_message=message, finished_at=now, **extra
    )
    if moved:
        _event(job_id, JobState.FAILED, message, vendor_state=extra.get("vendor_state", ""), at=now)
    return bool(moved)


def training_send(*, job_id: int) -> str:
    """The submit job: claim a queued job, call train_submit once, start polling. Safe to run twice: only one
    run claims the job, and ``submit_attempted_at`` is written before the call, so it is never resent."""
    now = timezone.now()
    if not TrainingJob.objects.filter(pk=job_id, state=JobState.QUEUED).update(
        state=JobState.SUBMITTING, claimed_at=now
    ):
        return "not queued"
    job = TrainingJob.objects.get(pk=job_id)
    _event(job.pk, JobState.SUBMITTING, "Sending to Miaohua.", at=now)
    account = account_for_email(job.account_email, prefer=job.upstream_account)
    if account is None:
        _fail_job(job.pk, NOT_CONNECTED.format(email=job.account_email))
        return "failed"
    if job.upstream_account_id != account.pk:
        TrainingJob.objects.filter(pk=job.pk).update(upstream_account=account)
    client = client_for_account(account)
    try:
        TrainingJob.objects.filter(pk=job.pk).update(submit_attempted_at=timezone.now())
        upstream_id = client.train_submit(
            name=job.name,
            description=job.description,
            base_model=job.base_model,
            trigger_word=job.trigger_word,
            main_body=job.main_body,
            datasets=job.vendor_dataset_ids,
        )
    except UpstreamUnavailable as exc:
        _fail_job(job.pk, NO_ANSWER if exc.may_have_reached_vendor else NOT_REACHED)
        return "failed"
    except ProtocolError:
        _fail_job(job.pk, NO_ANSWER)
        return "failed"
    except UpstreamError as exc:  # a refusal: a name in use, a dataset without images, the account's limits
        _fail_job(job.pk, exc.user_message)
        return "failed"
    finally:
        client.close()
    now = timezone.now()
    moved = TrainingJob.objects.filter(pk=job.pk, state=JobState.SUBMITTING).update(
        state=JobState.RUNNING, upstream_task_id=upstream_id, submitted_at=now, vendor_state="submitted"
    )
    if not moved:  # the recovery gave up on it meanwhile: keep the vendor's id all the same
        TrainingJob.objects.filter(pk=job.pk, upstream_task_id="").update(upstream_task_id=upstream_id)
        return "lost"
    _event(job.pk, JobState.RUNNING, "Accepted by Miaohua.", vendor_state="submitted", progress=0.0, at=now)
    training_poll_start(account_id=account.pk)
    return "running"


def poll_lease_name(account_id: int) -> str:
    return f"training-poll:{account_id}"


def training_poll_start(*, account_id: int) -> None:
    """Make sure a training poller runs for the account: enqueue one unless one holds the lease."""
    if lease_is_free(poll_lease_name(account_id)):
        _enqueue(POLL_JOB, account_id, task_name=f"training-poll-{account_id}-{uuid.uuid4().hex[:8]}")


def _running(account_id: int):
    return TrainingJob.objects.filter(upstream_account_id=account_id, state=JobState.RUNNING)


def _fail_timed_out(jobs) -> int:
    hours = float(_setting("TRAINING_TIMEOUT_SECONDS", 24 * 3600)) / 3600
    cutoff = timezone.now() - timedelta(hours=hours)
    failed = 0
    for pk in jobs.filter(state=JobState.RUNNING, submitted_at__lt=cutoff).values_list("pk", flat=True):
        failed += _fail_job(pk, TIMED_OUT.format(hours=hours), from_states=(JobState.RUNNING,))
    return failed


def training_poll(*, account_id: int, budget_seconds: float | None = None) -> dict:
    """One account's training poller, under its lease: train_progress for each running job (each at most once
    per TRAINING_POLL_INTERVAL_SECONDS), every call through the account's shared rate limiter; write progress,
    state changes and the LoRA of a finished job; loop until none runs or the time budget is spent, then
    re-enqueue itself if work remains (not in django-q2's sync mode, where it just ends: the schedule goes on)."""
    report = {"account_id": account_id, "calls": 0, "done": 0, "failed": 0, "backoffs": 0, "stopped": ""}
    lease = Lease(poll_lease_name(account_id), seconds=float(_setting("TRAINING_POLL_LEASE_SECONDS", 30)))
    if not lease.acquire():
        report["stopped"] = "busy"
        return report
    budget = float(budget_seconds if budget_seconds is not None else _setting("TRAINING_POLL_BUDGET_SECONDS", 120))
    if Conf.SYNC:
        budget = min(budget, float(_setting("TRAINING_POLL_SYNC_BUDGET_SECONDS", 30)))
    interval = float(_setting("TRAINING_POLL_INTERVAL_SECONDS", 3.0))
    deadline = time.time() + budget
    work_remains = False
    client = None
    try:
        account = UpstreamAccount.objects.filter(pk=account_id).first()
        if account is None:
            report["stopped"] = "no account"
            return report
        client = client_for_account(account)
        client.max_retries = 0  # every call goes through the shared limiter; back-off is ours
        limiter = generation_services.account_rate_limiter(account_id)
        while True:
            _fail_timed_out(TrainingJob.objects.filter(upstream_account_id=account_id))
            running = list(_running(account_id).order_by(F("last_polled_at").asc(nulls_first=True), "id"))
            if not running:
                lease.release()
                if _running(account_id).exists() and lease.acquire():
                    continue
                report["stopped"] = "nothing running"
                return report
            now = timezone.now()
            due = [
                j for j in running if j.last_polled_at is None or (now - j.last_polled_at).total_seconds() >= interval
            ]
            if not due:
                wait = min(interval - (now - j.last_polled_at).total_seconds() for j in running)
                if time.time() + wait >= deadline:
                    report["stopped"] = "time budget spent"
                    work_remains = True
                    return report
                time.sleep(max(wait, 0.05))
                if not lease.renew():
                    report["stopped"] = "lease lost"
                    return report
                continue
            outcome = _poll_jobs(client, account, limiter, lease, due, deadline, report)
            if outcome in ("lease lost", "login failed"):
                report["stopped"] = outcome
                work_remains = outcome == "lease lost"
                return report
            if outcome == "deadline" or time.time() >= deadline:
                report["stopped"] = "time budget spent"
                work_remains = True
                return report
    finally:
        if client is not None:
            client.close()
        if lease.held:
            lease.release()
        if work_remains and report["stopped"] != "lease lost" and not Conf.SYNC:
            training_poll_start(account_id=account_id)


def _poll_jobs(client, account, limiter: RateLimiter, lease: Lease, jobs, deadline: float, report: dict) -> str:
    for job in jobs:
        if not lease.renew():
            return "lease lost"
        slot = limiter.acquire(deadline=deadline)
        if slot is None:
            return "deadline"
        report["calls"] += 1
        try:
            progress = client.train_progress(job.upstream_task_id)
        except NotFound:
            report["failed"] += _fail_job(job.pk, UNKNOWN_TRAINING, from_states=(JobState.RUNNING,))
            continue
        except (RateLimited, UpstreamUnavailable, ProtocolError) as exc:
            delay = limiter.back_off(retry_after=getattr(exc, "retry_after", None))
            report["backoffs"] += 1
            logger.warning("training poll: %s; backing off %.1f s", exc, delay)
            TrainingJob.objects.filter(pk=job.pk).update(last_polled_at=timezone.now())
            return "backed off"
        except (AuthenticationError, LoginFailed) as exc:
            logger.warning("training poll: cannot log in to Miaohua: %s", exc)
            limiter.back_off()
            return "login failed"
        except UpstreamError as exc:
            logger.warning("training poll: job %s: %s", job.pk, exc)
            TrainingJob.objects.filter(pk=job.pk).update(last_polled_at=timezone.now())
            continue
        finally:
            limiter.finished(slot)
        limiter.succeeded()
        outcome = _record_progress(client, account, limiter, job, progress, deadline)
        if outcome in report:
            report[outcome] += 1
    return "swept"


def _record_progress(client, account, limiter, job: TrainingJob, progress: TrainProgress, deadline: float) -> str:
    now = timezone.now()
    share = max(0.0, min(1.0, float(progress.training_progress or 0)))
    if progress.is_failed:
        reason = progress.error_msg or f"Miaohua stopped the training ({progress.state!r}) without saying why."
        if progress.error_msg:
            reason = f"Miaohua could not train the LoRA: {progress.error_msg}"
        _fail_job(job.pk, reason, from_states=(JobState.RUNNING,), vendor_state=progress.state[:30],
                  progress=share, last_polled_at=now, poll_attempts=F("poll_attempts") + 1)  # fmt: skip
        return "failed"
    columns = {"vendor_state": progress.state[:30], "last_polled_at": now, "poll_attempts": F("poll_attempts") + 1}
    if progress.is_done:
        columns["progress"] = 1.0
        if job.vendor_done_at is None:
            columns["vendor_done_at"] = now
    else:
        columns["progress"] = max(share, job.progress)  # never backwards on the bar
        if share > 0 and job.progress_started_at is None:
            columns.update(progress_started_at=now, progress_first=share)
    TrainingJob.objects.filter(pk=job.pk, state=JobState.RUNNING).update(**columns)
    if progress.state[:30] != job.vendor_state:
        said = VENDOR_STATES.get(progress.state, f"Miaohua reports {progress.state!r}.")
        _event(job.pk, JobState.RUNNING, said, vendor_state=progress.state[:30], progress=columns["progress"], at=now)
    if not progress.is_done:
        return ""
    slot = limiter.acquire(deadline=deadline)
    if slot is None:
        return ""
    try:
        lora = _find_lora(client, job.name)
    except UpstreamError as exc:
        logger.info("training poll: looking for the LoRA of job %s: %s", job.pk, exc)
        lora = None
    finally:
        limiter.finished(slot)
    if lora is not None:
        moved = TrainingJob.objects.filter(pk=job.pk, state=JobState.RUNNING).update(
            state=JobState.DONE, finished_at=now, lora_versionid=lora.versionid[:200],
            lora_model_name=lora.model_name[:200], error_message="",
        )  # fmt: skip
        if moved:
            _event(job.pk, JobState.DONE, f"Done: the LoRA {lora.model_name!r} is ready.", vendor_state=progress.state,
                   progress=1.0, at=now)  # fmt: skip
            generation_catalog.forget_private_models(account)
            return "done"
        return ""
    done_at = job.vendor_done_at or now
    if (now - done_at).total_seconds() >= float(_setting("TRAINING_LORA_WAIT_SECONDS", 600)):
        message = LORA_MISSING.format(name=job.name)
        if TrainingJob.objects.filter(pk=job.pk, state=JobState.RUNNING).update(
            state=JobState.DONE, finished_at=now, error_message=message
        ):
            _event(job.pk, JobState.DONE, message, vendor_state=progress.state, progress=1.0, at=now)
            return "done"
    return ""


def _find_lora(client, name: str):
    """The trained LoRA among the account's private models: by the name given at training time (digest:
    "Datasets and training"); exact first, then ignoring case and spaces at the ends."""
    candidates = []
    for page in range(1, int(_setting("TRAINING_PRIVATE_MAX_PAGES", 10)) + 1):
        result = client.models_private(page=page, per_page=100)
        candidates.extend(result.models)
        exact = [m for m in result.models if m.model_name == name]
        if exact:
            return exact[-1]
        if not result.has_next:
            break
    folded = name.strip().casefold()
    loose = [m for m in candidates if m.model_name.strip().casefold() == folded]
    return loose[-1] if loose else None


def notices_dismiss(*, user, job_ids=None) -> None:
    """The user has read these finish/failure notices (or all of them)."""
    jobs = notices_for(user)
    if job_ids is not None:
        jobs = jobs.filter(pk__in=[int(i) for i in job_ids])
    for job in jobs:
        job.notice_dismissed_by.add(user)


# --- Recovery (the one-minute schedule) --------------------------------------------------------------------


def training_recover() -> dict:
    """What a worker that died left behind, and what the minute schedule restarts:

    - training jobs queued but never taken → enqueued again (the claim keeps it to one run); stuck in
      ``submitting``: failed with "may or may not have started" when train_submit was attempted (never
      resent), queued again when it was not; running jobs whose poller's lease lapsed → a poller;
    - dataset images waiting with no sender → a sender; sending past the lease → failed (retry); removing
      with no remover → a remover; imports never started → started, or failed when interrupted."""
    now = timezone.now()
    counts = {"requeued": 0, "gave_up": 0, "resubmitted": 0, "pollers": 0, "senders": 0, "interrupted": 0,
              "removers": 0, "imports": 0}  # fmt: skip
    for pk in TrainingJob.objects.filter(state=JobState.QUEUED, created_at__lt=now - timedelta(minutes=1)).values_list(
        "pk", flat=True
    ):
        _enqueue(SUBMIT_JOB, pk, task_name=f"training-submit-{pk}-again")
        counts["requeued"] += 1
    stuck = TrainingJob.objects.filter(
        state=JobState.SUBMITTING,
        claimed_at__lt=now - timedelta(seconds=float(_setting("TRAINING_SUBMIT_LEASE_SECONDS", 600))),
    )
    for pk in stuck.filter(submit_attempted_at__isnull=False).values_list("pk", flat=True):
        counts["gave_up"] += _fail_job(pk, NO_ANSWER)
    for pk in stuck.filter(submit_attempted_at__isnull=True).values_list("pk", flat=True):
        if TrainingJob.objects.filter(pk=pk, state=JobState.SUBMITTING, submit_attempted_at__isnull=True).update(
            state=JobState.QUEUED, claimed_at=None
        ):
            _enqueue(SUBMIT_JOB, pk, task_name=f"training-submit-{pk}-resumed")
            counts["resubmitted"] += 1
    for account_id in (
        TrainingJob.objects.filter(state=JobState.RUNNING, upstream_account__isnull=False)
        .values_list("upstream_account_id", flat=True)
        .distinct()
        .order_by()
    ):
        if lease_is_free(poll_lease_name(account_id)):
            training_poll_start(account_id=account_id)
            counts["pollers"] += 1

    lease_seconds = float(_setting("TRAINING_SEND_LEASE_SECONDS", 300))
    for dataset_id in (
        DatasetImage.objects.filter(state=ImageState.SENDING, claimed_at__lt=now - timedelta(seconds=lease_seconds))
        .values_list("dataset_id", flat=True)
        .distinct()
        .order_by()
    ):
        if lease_is_free(send_lease_name(dataset_id)):
            counts["interrupted"] += DatasetImage.objects.filter(
                dataset_id=dataset_id, state=ImageState.SENDING, claimed_at__lt=now - timedelta(seconds=lease_seconds)
            ).update(state=ImageState.FAILED, error=INTERRUPTED, claim="", claimed_at=None)
    for dataset_id in (
        DatasetImage.objects.filter(state=ImageState.WAITING, created_at__lt=now - timedelta(minutes=2))
        .values_list("dataset_id", flat=True)
        .distinct()
        .order_by()
    ):
        if lease_is_free(send_lease_name(dataset_id)):
            dataset_send_start(dataset_id=dataset_id)
            counts["senders"] += 1
    for dataset_id in (
        DatasetImage.objects.filter(state=ImageState.REMOVING)
        .filter(Q(claim="") | Q(claimed_at__lt=now - timedelta(seconds=lease_seconds)))
        .values_list("dataset_id", flat=True)
        .distinct()
        .order_by()
    ):
        _enqueue(REMOVE_JOB, dataset_id, task_name=f"dataset-remove-{dataset_id}-again")
        counts["removers"] += 1
    for pk in DatasetImport.objects.filter(
        state=DatasetImport.State.QUEUED, created_at__lt=now - timedelta(minutes=1)
    ).values_list("pk", flat=True):
        _enqueue(IMPORT_JOB, pk, task_name=f"dataset-import-{pk}-again")
        counts["imports"] += 1
    DatasetImport.objects.filter(state=DatasetImport.State.RUNNING, started_at__lt=now - timedelta(minutes=30)).update(
        state=DatasetImport.State.FAILED, error="The import was interrupted; start it again.", finished_at=now
    )
    return counts


def ensure_schedules() -> Schedule:
    """The one-minute recovery schedule, created or corrected idempotently (by name)."""
    schedule, _ = Schedule.objects.update_or_create(
        name=RECOVER_SCHEDULE,
        defaults={"func": RECOVER_JOB, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
    return schedule
