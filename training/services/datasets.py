"""Datasets, as web requests change them: create, rename, store uploads and history images (checked against the
vendor's rules, kept here), remove, retry; and the jobs that send them on (``sender``) or import them
(``importer``). Nothing here calls the vendor."""

import contextlib
import os
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop
from PIL import Image, UnidentifiedImageError

from generation import images as image_files
from generation.vendor_rules import UPLOAD_FORMATS, UPLOAD_MAX_BYTES, check_upload_image
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent
from miaohua_site.i18n import english, stored
from miaohua_site.workers.jobs import enqueue
from miaohua_site.workers.leases import lease_is_free
from training.models import Dataset, DatasetImage, DatasetImport

ImageState = DatasetImage.State

SEND_JOB = "training.tasks.dataset_send_job"
REMOVE_JOB = "training.tasks.dataset_remove_job"
IMPORT_JOB = "training.tasks.dataset_import_job"
FETCH_JOB = "training.tasks.dataset_images_fetch_job"


def account_for_email(email: str, *, prefer: UpstreamAccount | None = None) -> UpstreamAccount | None:
    """The connected account for a Miaohua email (the one given first when it still matches)."""
    if prefer is not None and prefer.email.lower() == (email or "").lower():
        return prefer
    return UpstreamAccount.objects.filter(email__iexact=email).order_by("pk").first() if email else None


def dataset_touch(dataset_id: int) -> None:
    """The dataset changed (its page's live parts compare this time)."""
    Dataset.objects.filter(pk=dataset_id).update(updated_at=timezone.now())


def dataset_create(*, user, account: UpstreamAccount, name: str, description: str = "") -> Dataset:
    """A new dataset on ``account``; it reaches Miaohua with its first batch of images (the vendor's
    ``dataset`` call takes the images)."""
    with transaction.atomic():
        dataset = Dataset.objects.create(
            name=name.strip(),
            description=description.strip(),
            created_by=user,
            upstream_account=account,
            account_email=account.email,
        )
        audit.record(AuditEvent.Action.DATASET_CREATED, actor=user, target=dataset, account=account.email)
    return dataset


def dataset_update(*, dataset: Dataset, name: str, description: str) -> Dataset:
    """Name and description as shown here. Miaohua has no call to rename a dataset: once the dataset is there,
    the vendor keeps the name it was created with."""
    dataset.name, dataset.description, dataset.updated_at = name.strip(), description.strip(), timezone.now()
    dataset.save(update_fields=["name", "description", "updated_at"])
    return dataset


def _safe_name(name: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    return base[:255] or "image"

# Reasons stored in English on a refused image (its ``error``), shown in the reader's language (miaohua_site.i18n).
TOO_MANY_PIXELS = gettext_noop("This image has far too many pixels; Miaohua accepts at most 6144×6144.")
TOO_LARGE = stored(gettext_noop("This image is over {mb} MB; Miaohua accepts at most 5 MB."))
NOT_STORED_YET = gettext_noop("This image has not been stored yet; try again in a moment.")


def _check(file) -> tuple[int, int]:
    """The vendor's rules (generation.vendor_rules), and a picture too large in pixels to even open."""
    with translation.override("en"):  # the reason is stored in English and shown in the reader's language
        try:
            return check_upload_image(file)
        except Image.DecompressionBombError:
            raise ValidationError(TOO_MANY_PIXELS) from None
        except ValidationError as exc:
            raise ValidationError([str(message) for message in exc.messages]) from None


def _refused(dataset: Dataset, name: str, error: str, **fields) -> DatasetImage:
    """An image listed with the reason it is never sent."""
    return DatasetImage.objects.create(
        dataset=dataset, state=ImageState.REFUSED, original_name=name, error=error, **fields
    )


@transaction.atomic
def dataset_images_store(*, dataset: Dataset, files, too_large=()) -> list[DatasetImage]:
    """Check each file against the vendor's rules (types, ≤ 5 MB, 256²–6144², decodable) and keep it here:
    a good one is stored (moved from its temporary file, or copied in chunks) and waits to be sent; a refused
    one is listed with the reason and never sent. ``too_large`` names files the upload handler cut off."""
    made = []
    for name in too_large:
        error = english(TOO_LARGE, mb=UPLOAD_MAX_BYTES // (1024 * 1024))
        made.append(_refused(dataset, _safe_name(name), error))
    for upload in files:
        name = _safe_name(upload.name)
        try:
            width, height = _check(upload)
        except ValidationError as exc:
            made.append(_refused(dataset, name, " ".join(exc.messages), size_bytes=upload.size))
            continue
        image = DatasetImage(dataset=dataset, original_name=name, width=width, height=height, size_bytes=upload.size)
        upload.seek(0)
        image.file.save(name, upload, save=False)  # a temporary upload is moved, anything else copied in chunks
        image.save()
        made.append(image)
    dataset_touch(dataset.pk)
    _record_added(dataset, made, source="upload")
    return made


def _record_added(dataset: Dataset, made, *, source: str, actor=None) -> None:
    stored = [image.pk for image in made if image.state != ImageState.REFUSED]
    refused = len(made) - len(stored)
    action = AuditEvent.Action.DATASET_IMAGES_ADDED
    audit.record(action, actor=actor, target=dataset, source=source, image_ids=stored, refused=refused)


@transaction.atomic
def dataset_images_from_history(*, user, dataset: Dataset, images) -> list[DatasetImage]:
    """Copy generated images of ``user`` into the dataset (checked like uploads; one too big or of another
    format is re-encoded as JPEG first, since it is our own picture)."""
    made = []
    for generated in images:
        if generated.task.owner_id != user.pk:
            raise PermissionDenied(gettext("Not your image."))
        name = f"task{generated.task_id}-{generated.save_index}{os.path.splitext(generated.file.name or '')[1]}"
        if not generated.file or not generated.file.storage.exists(generated.file.name):
            error = NOT_STORED_YET
            made.append(_refused(dataset, name, error, source=DatasetImage.Source.HISTORY, source_image=generated))
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
                content = File(image_files.vendor_ready_jpeg(handle, max_bytes=UPLOAD_MAX_BYTES), name=name)
            try:
                width, height = _check(content)
            except ValidationError as exc:
                error = " ".join(exc.messages)
                made.append(_refused(dataset, name, error, source=DatasetImage.Source.HISTORY, source_image=generated))
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
    dataset_touch(dataset.pk)
    _record_added(dataset, made, source="history", actor=user)
    return made


def _delete_files(images) -> None:
    for image in images:
        for field in (image.file, image.thumbnail):
            if field:
                with contextlib.suppress(OSError):
                    field.storage.delete(field.name)


@transaction.atomic
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
    counts["removed"] = deleted
    audit.record(AuditEvent.Action.DATASET_IMAGES_REMOVED, target=dataset, image_ids=ids, **counts)
    transaction.on_commit(lambda: _delete_files(local))  # a rolled-back removal keeps its files
    if counts["removing"]:
        enqueue(REMOVE_JOB, dataset.pk, task_name=f"dataset-remove-{dataset.pk}-{uuid.uuid4().hex[:8]}")
    dataset_touch(dataset.pk)
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
        enqueue(SEND_JOB, dataset_id, task_name=f"dataset-send-{dataset_id}-{uuid.uuid4().hex[:8]}")


def dataset_import_start(*, user, account: UpstreamAccount) -> DatasetImport:
    """An import of every dataset of the account (one at a time per account: a second click gets the first)."""
    running = DatasetImport.objects.filter(
        account_email__iexact=account.email, state__in=(DatasetImport.State.QUEUED, DatasetImport.State.RUNNING)
    ).first()
    if running is not None:
        return running
    run = DatasetImport.objects.create(upstream_account=account, account_email=account.email, requested_by=user)
    enqueue(IMPORT_JOB, run.pk, task_name=f"dataset-import-{run.pk}")
    return run
