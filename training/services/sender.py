"""Sending datasets to Miaohua (a django-q2 job per dataset, one at a time under the dataset's lease): waiting
images go in batches through ``upload_imgs``, then ``dataset`` (created once, with the first batch) or
``dataset/add_images``; removals through ``dataset/delete_images``. A row's state follows only what the vendor
accepted; the vendor's non-repeatable calls are recorded before they are sent and never sent twice."""

import contextlib
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop
from PIL import Image, UnidentifiedImageError

from generation import images as image_files
from miaohua_site.accounts.services import client_for_account
from miaohua_site.i18n import english, stored
from miaohua_site.upstream.errors import (
    AuthenticationError,
    ContentRefused,
    InvalidParameter,
    LoginFailed,
    ProtocolError,
    UpstreamError,
    UpstreamUnavailable,
)
from miaohua_site.workers.jobs import NOT_REACHED, batched, work_under_lease
from miaohua_site.workers.leases import Lease
from training.models import Dataset, DatasetImage, link_path
from training.services.datasets import (
    _delete_files,
    account_for_email,
    dataset_send_start,
    dataset_touch,
    send_lease_name,
)

logger = logging.getLogger(__name__)

ImageState = DatasetImage.State

# Stored in English (an image's error, a dataset's vendor_error), shown in the reader's language (miaohua_site.i18n).
NOT_CONNECTED = stored(gettext_noop("No connected Miaohua account for {email}: connect it under Settings, then retry."))
FILE_MISSING = gettext_noop("The file is no longer stored here; upload it again.")
UPLOAD_UNANSWERED = gettext_noop("Miaohua did not answer while adding this image; a retry checks the dataset first.")
CREATE_UNANSWERED = gettext_noop("Miaohua did not answer while creating the dataset; a retry looks for it first.")
REMOVE_FAILED = stored(gettext_noop("Miaohua did not remove this image: {reason}"))
IMAGE_REFUSED = stored(gettext_noop("Miaohua refused this image: {reason}"))
IMAGE_NOT_ADDED = stored(gettext_noop("Miaohua did not add this image: {reason}"))
CREATE_REFUSED = stored(gettext_noop("Miaohua refused to create the dataset: {reason}"))
CREATING_ELSEWHERE = gettext_noop("Another worker is creating this dataset at Miaohua; retry in a moment.")
NO_ACCOUNT = gettext_noop("no connected account.")
DELETE_CHUNK = 50



def _make_thumbnail(image: DatasetImage) -> None:
    if image.thumbnail or not image.file:
        return
    with image.file.open("rb") as handle:
        data = image_files.thumbnail(handle)
    image.thumbnail.save("thumb.webp", ContentFile(data), save=False)
    DatasetImage.objects.filter(pk=image.pk).update(thumbnail=image.thumbnail.name)


def _claim_batch(dataset_id: int) -> list[DatasetImage]:
    """Take the next waiting images (≤ TRAINING_UPLOAD_BATCH_FILES files and ≤ …_BYTES bytes) for sending."""
    max_files = int(settings.TRAINING_UPLOAD_BATCH_FILES)
    max_bytes = int(settings.TRAINING_UPLOAD_BATCH_BYTES)
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
        message = english(message)  # stored on the images: English, shown translated
        super().__init__(message)
        self.message = message


def vendor_datasets(client) -> list:
    """Every dataset of the account, all pages of dataset_all."""
    found, page = [], 1
    while True:
        result = client.dataset_all(page=page)
        found.extend(result.items)
        if not result.has_next or not result.items or page >= int(settings.TRAINING_DATASET_MAX_PAGES):
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
                _set_state(images, ImageState.REFUSED, error=english(IMAGE_REFUSED, reason=exc.user_message))
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
        raise _Stop(CREATING_ELSEWHERE)
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
        message = english(CREATE_REFUSED, reason=exc.user_message)
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
            _set_state(images, ImageState.FAILED, error=english(IMAGE_NOT_ADDED, reason=exc.user_message))
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
    lease = Lease(send_lease_name(dataset_id), seconds=float(settings.TRAINING_SEND_LEASE_SECONDS))
    if not lease.acquire():
        report["busy"] = True
        return report
    client = None
    batch: list[DatasetImage] = []  # the one being sent, if any

    def send(taken: list[DatasetImage]) -> None:
        batch[:] = taken
        report["batches"] += 1
        _send_batch(client, dataset, taken, report)
        batch.clear()
        dataset_touch(dataset_id)

    try:
        dataset = Dataset.objects.filter(pk=dataset_id).first()
        if dataset is None:
            return report
        account = account_for_email(dataset.account_email, prefer=dataset.upstream_account)
        if account is None:
            raise _Stop(english(NOT_CONNECTED, email=dataset.account_email))
        client = client_for_account(account)
        stopped = work_under_lease(
            lease,
            take=lambda: _claim_batch(dataset_id),
            work=send,
            more=lambda: DatasetImage.objects.filter(dataset_id=dataset_id, state=ImageState.WAITING).exists(),
            budget_seconds=float(settings.TRAINING_SEND_BUDGET_SECONDS),
            hand_over=lambda: dataset_send_start(dataset_id=dataset_id),
        )
        if stopped != "done":
            report["stopped"] = stopped
        return report
    except _Stop as stop:
        still = [
            image for image in batch if DatasetImage.objects.filter(pk=image.pk, state=ImageState.SENDING).exists()
        ]
        _set_state(still, ImageState.FAILED, error=stop.message)
        waiting = DatasetImage.objects.filter(dataset_id=dataset_id, state=ImageState.WAITING)
        report["failed"] += len(still) + waiting.update(state=ImageState.FAILED, error=stop.message)
        report["stopped"] = stop.message
        logger.info("dataset %s: sending stopped: %s", dataset_id, stop.message)
        dataset_touch(dataset_id)
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
    stale = timezone.now() - timedelta(seconds=float(settings.TRAINING_SEND_LEASE_SECONDS))
    DatasetImage.objects.filter(dataset_id=dataset_id, state=ImageState.REMOVING).filter(
        Q(claim="") | Q(claimed_at__lt=stale)
    ).update(claim=claim, claimed_at=timezone.now())
    images = list(DatasetImage.objects.filter(claim=claim, state=ImageState.REMOVING))
    if not images:
        return report
    account = account_for_email(dataset.account_email, prefer=dataset.upstream_account)
    if account is None:
        _set_state(images, ImageState.ADDED, error=english(REMOVE_FAILED, reason=NO_ACCOUNT))
        report["kept"] = len(images)
        return report
    client = client_for_account(account)
    try:
        for chunk in batched(images, DELETE_CHUNK):
            try:
                client.dataset_delete_images(dataset.vendor_dataset_id, [image.vendor_url for image in chunk])
            except (InvalidParameter, UpstreamUnavailable, ProtocolError) as exc:
                # One of them is not there ("invalid image"), or no answer: ask what the dataset holds.
                try:
                    paths = _vendor_paths(client, dataset.vendor_dataset_id) or set()
                except UpstreamError:
                    paths = None
                if paths is None:
                    _set_state(chunk, ImageState.ADDED, error=english(REMOVE_FAILED, reason=exc.user_message))
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
                _set_state(left, ImageState.ADDED, error=english(REMOVE_FAILED, reason=exc.user_message))
                report["kept"] += len(left)
                continue
            except UpstreamError as exc:
                _set_state(chunk, ImageState.ADDED, error=english(REMOVE_FAILED, reason=exc.user_message))
                report["kept"] += len(chunk)
                continue
            _remove_rows(chunk)
            report["removed"] += len(chunk)
    finally:
        client.close()
    dataset_touch(dataset_id)
    return report


def _remove_rows(images) -> None:
    if images:
        DatasetImage.objects.filter(pk__in=[i.pk for i in images]).delete()
        _delete_files(images)
