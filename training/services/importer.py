"""Importing the account's datasets from Miaohua (``dataset_all``, every page) and downloading their images,
each as a django-q2 job."""

import os
import time
import uuid

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_q.conf import Conf

from generation import images as image_files
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import client_for_account
from miaohua_site.i18n import english, stored
from miaohua_site.upstream.errors import UpstreamError
from miaohua_site.workers.jobs import enqueue
from training.models import Dataset, DatasetImage, DatasetImport, link_path
from training.services.datasets import FETCH_JOB, account_for_email, dataset_touch
from training.services.sender import NOT_CONNECTED, _remove_rows, vendor_datasets

ImageState = DatasetImage.State


LIST_UNREADABLE = stored(gettext_noop("Miaohua's list of datasets could not be read: {reason}"))  # stored in English


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
            state=DatasetImport.State.FAILED, error=english(NOT_CONNECTED, email=run.account_email), finished_at=now
        )
        return {"import_id": import_id, "failed": "not connected"}
    client = client_for_account(account)
    try:
        fetched_at = timezone.now()
        items = vendor_datasets(client)
    except UpstreamError as exc:
        DatasetImport.objects.filter(pk=import_id).update(
            state=DatasetImport.State.FAILED,
            error=english(LIST_UNREADABLE, reason=exc.user_message),
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
            enqueue(FETCH_JOB, dataset_id, task_name=f"dataset-fetch-{dataset_id}-{uuid.uuid4().hex[:8]}")
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
        dataset_touch(dataset.pk)
    return len(new), len(gone)


def dataset_images_fetch(*, dataset_id: int) -> dict:
    """Download the imported images that have no local file yet (and make their thumbnails)."""
    report = {"dataset_id": dataset_id, "stored": 0, "failed": 0}
    deadline = time.monotonic() + float(settings.TRAINING_SEND_BUDGET_SECONDS)
    session = image_files.download_session()
    try:
        for image in DatasetImage.objects.filter(dataset_id=dataset_id, file="", file_error="").exclude(vendor_url=""):
            if time.monotonic() > deadline and not Conf.SYNC:  # a fresh job carries on
                enqueue(FETCH_JOB, dataset_id, task_name=f"dataset-fetch-{dataset_id}-{uuid.uuid4().hex[:8]}")
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
