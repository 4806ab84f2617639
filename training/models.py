"""Datasets (image sets kept here and at Miaohua), their images, imports from Miaohua, and LoRA training jobs.

A dataset image's life: the browser sends the file to us (checked, stored, ``waiting``) → a worker sends it
to Miaohua in a batch (``sending``: upload_imgs, then dataset or dataset/add_images) → ``added``. A file the
vendor's rules refuse is ``refused`` (with the reason, never sent); a vendor or network failure is ``failed``
(retry sends that file again, alone). Removing is ``removing`` until dataset/delete_images answers.

A training job's life: queued → submitting → running → done | failed (docs/ARCHITECTURE.md, "Training").
Field names that cross the wire are the vendor's (``trigger_word``, ``main_body``, ``base_model``).
"""

import os
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".jfif", ".pjpeg", ".pjp", ".webp"}


def link_path(url: str) -> str:
    """What identifies a vendor image across links: the path. Signed links change their query string
    (digest: "Image URLs can change between polls"), never the object they point at."""
    return urlsplit(url or "").path[:500]


class Dataset(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The Miaohua account the dataset lives on. The row may be replaced (disconnect, reconnect): the email
    # says which vendor account the dataset id belongs to, and who may change it.
    upstream_account = models.ForeignKey(
        "accounts.UpstreamAccount", on_delete=models.SET_NULL, null=True, blank=True, related_name="datasets"
    )
    account_email = models.EmailField(_("Miaohua account"))
    vendor_dataset_id = models.PositiveBigIntegerField(_("Miaohua dataset id"), null=True, blank=True)
    # Written just before the `dataset` call: the vendor has no idempotency key, so a creation is never resent
    # blindly; an unanswered one is looked for in dataset_all first.
    vendor_create_attempted_at = models.DateTimeField(null=True, blank=True)
    vendor_error = models.TextField(blank=True, help_text=_("The last dataset-level failure, in plain words"))
    imported_at = models.DateTimeField(null=True, blank=True, help_text=_("Last refreshed from Miaohua's list"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account_email", "vendor_dataset_id"],
                condition=Q(vendor_dataset_id__isnull=False),
                name="dataset_one_per_vendor_id",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def on_vendor(self) -> bool:
        return self.vendor_dataset_id is not None


def _image_name(image: "DatasetImage", suffix: str) -> str:
    return f"datasets/{image.dataset_id}/{image.uuid.hex}{suffix}"


def dataset_image_path(image: "DatasetImage", filename: str) -> str:
    ext = os.path.splitext(filename)[1].lower()
    return _image_name(image, ext if ext in IMAGE_EXTENSIONS else ".jpg")


def dataset_thumbnail_path(image: "DatasetImage", filename: str) -> str:
    return _image_name(image, "-thumb.webp")


class DatasetImage(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        SENDING = "sending", _("Sending")
        ADDED = "added", _("Added")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Failed")
        REMOVING = "removing", _("Removing")

    class Source(models.TextChoices):
        UPLOAD = "upload", _("Uploaded")
        HISTORY = "history", _("From history")
        MIAOHUA = "miaohua", _("Imported from Miaohua")

    MOVING = (State.WAITING, State.SENDING, State.REMOVING)

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    uuid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UPLOAD)
    original_name = models.CharField(max_length=255, blank=True)
    file = models.FileField(upload_to=dataset_image_path, max_length=255, blank=True)
    thumbnail = models.FileField(upload_to=dataset_thumbnail_path, max_length=255, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    source_image = models.ForeignKey(
        "generation.GeneratedImage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The link upload_imgs (or dataset_all) gave: what dataset/add_images and delete_images name the image by.
    vendor_url = models.TextField(blank=True)
    vendor_path = models.CharField(max_length=500, blank=True, db_index=True)
    error = models.TextField(blank=True, help_text=_("Why it was refused or failed, in plain words"))
    file_error = models.TextField(blank=True, help_text=_("Why an imported image could not be downloaded"))
    claim = models.CharField(max_length=32, blank=True, help_text=_("The send or remove run that holds it"))
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    added_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["dataset", "state"], name="dataset_image_state")]

    def __str__(self) -> str:
        return f"{self.original_name or self.uuid.hex[:8]} in {self.dataset_id}"

    def set_vendor_url(self, url: str) -> None:
        self.vendor_url = url
        self.vendor_path = link_path(url)


class DatasetImport(models.Model):
    """One "import from Miaohua" run for an account: every page of dataset_all, mirrored here."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    upstream_account = models.ForeignKey(
        "accounts.UpstreamAccount", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    account_email = models.EmailField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    datasets_found = models.PositiveIntegerField(default=0)
    datasets_created = models.PositiveIntegerField(default=0)
    images_added = models.PositiveIntegerField(default=0)
    images_removed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import #{self.pk} for {self.account_email} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)


class TrainingJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SUBMITTING = "submitting", _("Submitting")
        RUNNING = "running", pgettext_lazy("state", "Training")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    IN_FLIGHT = (State.QUEUED, State.SUBMITTING, State.RUNNING)
    FINAL = (State.DONE, State.FAILED)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_jobs")
    upstream_account = models.ForeignKey(
        "accounts.UpstreamAccount", on_delete=models.SET_NULL, null=True, blank=True, related_name="training_jobs"
    )
    account_email = models.EmailField(_("Miaohua account"), blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)

    # What train_submit is sent (vendor names).
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    base_model = models.CharField(max_length=100)
    main_body = models.CharField(_("subject"), max_length=50)
    trigger_word = models.CharField(max_length=50)
    datasets = models.ManyToManyField(Dataset, related_name="training_jobs", blank=True)
    vendor_dataset_ids = models.JSONField(default=list)

    # What the vendor told us.
    upstream_task_id = models.CharField(max_length=100, blank=True, db_index=True)
    vendor_state = models.CharField(max_length=30, blank=True)
    progress = models.FloatField(default=0.0, help_text=_("training_progress, 0–1"))
    error_message = models.TextField(blank=True, help_text=_("Why the training failed, in plain words"))
    # train_progress's model_name: the vendor renames ("train model1" → "train_model1"), so the LoRA is looked
    # for by this name (digest: "Trained model names").
    vendor_model_name = models.CharField(_("name at Miaohua"), max_length=200, blank=True)
    lora_versionid = models.CharField(_("LoRA version id"), max_length=200, blank=True)
    lora_model_name = models.CharField(_("LoRA"), max_length=200, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    submit_attempted_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Set just before train_submit is sent: the vendor may know it after")
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    progress_started_at = models.DateTimeField(
        null=True, blank=True, help_text=_("First report above 0: the estimate counts from here")
    )
    progress_first = models.FloatField(null=True, blank=True, help_text=_("The progress of that first report"))
    vendor_done_at = models.DateTimeField(null=True, blank=True, help_text=_("When Miaohua first said done"))
    finished_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    poll_attempts = models.PositiveIntegerField(default=0)
    notice_dismissed_by = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "idempotency_key"], name="training_job_one_per_key"),
        ]
        indexes = [models.Index(fields=["state", "upstream_account", "last_polled_at"], name="training_job_poll")]

    def __str__(self) -> str:
        return f"training #{self.pk} {self.name!r} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL

    @property
    def lora_linkable(self) -> bool:
        """Miaohua has finished the training: its LoRA may be linked by hand (when the search did not find it)."""
        return self.state == self.State.DONE or (self.state == self.State.RUNNING and self.vendor_done_at is not None)

    @property
    def percent(self) -> int:
        return 100 if self.state == self.State.DONE else int(max(0.0, min(1.0, self.progress)) * 100)

    def elapsed_seconds(self, now=None) -> float:
        return max(0.0, ((self.finished_at or now or timezone.now()) - self.created_at).total_seconds())

    def remaining_seconds(self, now=None) -> float | None:
        """From the progress rate between the first report above 0 and the latest one (with one report
        only, from the submission); None while there is no rate yet."""
        if self.is_final or self.progress_started_at is None or not 0 < self.progress < 1:
            return None
        now = now or timezone.now()
        read_at = self.last_polled_at or now
        first = self.progress_first or 0.0
        if self.progress > first and read_at > self.progress_started_at:
            rate = (self.progress - first) / (read_at - self.progress_started_at).total_seconds()
        else:
            spent = (read_at - (self.submitted_at or self.progress_started_at)).total_seconds()
            rate = self.progress / spent if spent > 0 else 0
        if rate <= 0:
            return None
        return max(0.0, (1 - self.progress) / rate - (now - read_at).total_seconds())


class TrainingEvent(models.Model):
    """A line in a job's log: a state change, with the progress at that moment."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=12, choices=TrainingJob.State.choices)
    vendor_state = models.CharField(max_length=30, blank=True)
    progress = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.state} {self.message}"
