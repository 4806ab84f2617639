"""Reads of the training app. Datasets are the team's: every signed-in person may look at them, only admins
on the dataset's Miaohua account change them. Training jobs and their notices are for admins."""

import uuid
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext

from miaohua_site.accounts.services import account_for_user
from training.models import Dataset, DatasetImage, DatasetImport, TrainingEvent, TrainingJob

NOTICE_DAYS = 3


def datasets_visible_to(user) -> QuerySet[Dataset]:
    if not user.is_authenticated:
        return Dataset.objects.none()
    return Dataset.objects.annotate(
        n_images=Count("images", filter=~Q(images__state=DatasetImage.State.REFUSED)),
        n_added=Count("images", filter=Q(images__state=DatasetImage.State.ADDED)),
        n_moving=Count("images", filter=Q(images__state__in=DatasetImage.MOVING)),
        n_failed=Count("images", filter=Q(images__state=DatasetImage.State.FAILED)),
    ).order_by("-updated_at", "-id")


def dataset_for_user(user, pk) -> Dataset:
    """One visible dataset, or Http404."""
    return get_object_or_404(datasets_visible_to(user), pk=pk)


def can_change_dataset(user, dataset: Dataset) -> bool:
    """Admins whose connected Miaohua account is the one the dataset lives on."""
    if not (user.is_authenticated and user.is_staff):
        return False
    account = account_for_user(user)  # their own, or the team's
    return account is not None and account.email.lower() == dataset.account_email.lower()


def dataset_for_change(user, pk) -> Dataset:
    """A dataset the user may change; 404 when unknown, 403 when it lives on another Miaohua account."""
    dataset = dataset_for_user(user, pk)
    if not can_change_dataset(user, dataset):
        raise PermissionDenied(
            gettext(
                "This dataset lives on the Miaohua account %(email)s; only an admin connected to "
                "that account can change it."
            )
            % {"email": dataset.account_email}
        )
    return dataset


def dataset_images(dataset: Dataset) -> QuerySet[DatasetImage]:
    return dataset.images.order_by("created_at", "id")


def image_counts(dataset: Dataset) -> dict:
    """How many images of the dataset are in each state, and the overall share that has reached Miaohua."""
    rows = dict(dataset.images.values_list("state").annotate(n=Count("id")).order_by())
    counts = {state: rows.get(state, 0) for state in DatasetImage.State.values}
    counts["total"] = sum(rows.values()) - counts["refused"]
    counts["moving"] = sum(counts[s] for s in DatasetImage.MOVING)
    counts["percent"] = round(100 * counts["added"] / counts["total"]) if counts["total"] else 0
    return counts


def trainable_datasets(account) -> QuerySet[Dataset]:
    """Datasets one may train on with ``account``: at Miaohua, on that account, with at least one image there."""
    if account is None:
        return Dataset.objects.none()
    return (
        Dataset.objects.filter(account_email__iexact=account.email, vendor_dataset_id__isnull=False)
        .annotate(n_added=Count("images", filter=Q(images__state=DatasetImage.State.ADDED)))
        .filter(n_added__gt=0)
        .order_by("name", "id")
    )


def latest_import(account) -> DatasetImport | None:
    if account is None:
        return None
    return DatasetImport.objects.filter(account_email__iexact=account.email).order_by("-created_at", "-id").first()


def jobs_visible_to(user) -> QuerySet[TrainingJob]:
    """Every training job, for admins (the team's LoRAs); nothing for anyone else."""
    if not (user.is_authenticated and user.is_staff):
        return TrainingJob.objects.none()
    return TrainingJob.objects.select_related("owner").prefetch_related(
        "datasets", Prefetch("events", queryset=TrainingEvent.objects.order_by("at", "id"))
    )


def job_for_user(user, pk) -> TrainingJob:
    return get_object_or_404(jobs_visible_to(user), pk=pk)


def can_link_lora(user, job: TrainingJob) -> bool:
    """Admins connected to the job's Miaohua account may link its LoRA by hand, once Miaohua has finished it."""
    account = account_for_user(user) if user.is_authenticated and user.is_staff else None
    return account is not None and account.email.lower() == (job.account_email or "").lower()


def job_for_lora_link(user, pk) -> TrainingJob:
    """A job whose LoRA the user may link; 404 when the user may not see it, 403 when on another account."""
    job = job_for_user(user, pk)
    if not can_link_lora(user, job):
        raise PermissionDenied(
            gettext(
                "This training ran on the Miaohua account %(email)s; only an admin connected to that "
                "account can link its LoRA."
            )
            % {"email": job.account_email}
        )
    return job


def job_with_key(user, key) -> TrainingJob | None:
    """The job a form with this idempotency key already made (a resent form, a double click)."""
    try:
        key = uuid.UUID(str(key))
    except ValueError:
        return None
    return TrainingJob.objects.filter(owner=user, idempotency_key=key).first()


def notices_for(user) -> QuerySet[TrainingJob]:
    """Jobs that finished or failed in the last days and that this admin has not dismissed."""
    if not (user.is_authenticated and user.is_staff):
        return TrainingJob.objects.none()
    since = timezone.now() - timedelta(days=NOTICE_DAYS)
    return (
        TrainingJob.objects.filter(state__in=TrainingJob.FINAL, finished_at__gte=since)
        .exclude(notice_dismissed_by=user)
        .order_by("-finished_at", "-id")
    )
