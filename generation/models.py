"""Generation tasks, their images, the images a user gives as input, and which inputs each task used.

A task's life (docs/ARCHITECTURE.md, "Life of a generation task"):
queued → submitting → pending → done | failed. Field names that cross the wire are the vendor's.
"""

import os
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class GenerationTask(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SUBMITTING = "submitting", _("Submitting")
        PENDING = "pending", _("Generating")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        TXT2IMG = "txt2img", _("Text to image")
        IMG2IMG = "img2img", _("Image to image")

    IN_FLIGHT = (State.QUEUED, State.SUBMITTING, State.PENDING)
    FINAL = (State.DONE, State.FAILED)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generation_tasks")
    # Tasks outlive a disconnected account: the history stays, polling stops.
    upstream_account = models.ForeignKey(
        "accounts.UpstreamAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="generation_tasks",
    )
    idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)

    # Every task_submit parameter as the user asked (vendor names; input images as "input:<pk>"), and what was
    # actually sent (the uploaded URLs in their place; never the token).
    params = models.JSONField(default=dict)
    params_sent = models.JSONField(null=True, blank=True)

    # Denormalised from params for filtering and search.
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TXT2IMG)
    prompt = models.TextField(blank=True)
    neg_prompt = models.TextField(blank=True)
    versionid = models.CharField(max_length=200, blank=True)
    model_name = models.CharField(_("model"), max_length=200, blank=True, help_text=_("The base model's display name"))
    lora_versionid = models.CharField(max_length=200, blank=True)
    cn_types = models.CharField(_("ControlNet types"), max_length=200, blank=True, help_text=_("Comma-separated"))
    n_images = models.PositiveSmallIntegerField(default=2)
    output_size = models.CharField(max_length=20, blank=True)

    # What the vendor told us.
    upstream_task_id = models.CharField(max_length=100, blank=True, db_index=True)
    error_message = models.TextField(blank=True, help_text=_("Why the task failed, in plain words"))
    wait_time = models.FloatField(null=True, blank=True, help_text=_("The vendor's queue estimate while pending"))
    select_seed = models.BigIntegerField(null=True, blank=True, help_text=_("The seed the vendor used"))

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text=_("When a worker took it (queued → submitting)"))
    submit_attempted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Set just before task_submit is sent: the vendor may know the task after it"),
    )
    # A submission the vendor surely did nothing with (429, "too many running tasks", not reached) goes back
    # to the queue until retry_at, with the reason shown on its card; after the last attempt it fails.
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    retry_reason = models.CharField(max_length=300, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    poll_attempts = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)
    is_favourite = models.BooleanField(_("favourite"), default=False)

    # Issue #13: the batch or sweep a task belongs to (each one an ordinary task), its place there, and for a
    # sweep the index of its value on each axis (x, y, z); the styles it was made with (names kept for the
    # record when a style is deleted or renamed later).
    group = models.ForeignKey(
        "generation.TaskGroup", on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    group_index = models.PositiveIntegerField(null=True, blank=True)
    cell = models.JSONField(null=True, blank=True, help_text=_("A sweep task's value index on each axis"))
    styles = models.ManyToManyField("generation.Style", blank=True, related_name="tasks")
    style_names = models.CharField(_("styles"), max_length=300, blank=True, help_text=_("Comma-separated"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "idempotency_key"], name="generation_task_one_per_key"),
        ]
        indexes = [
            # The poller: an account's pending tasks, oldest-polled first.
            models.Index(fields=["state", "upstream_account", "last_polled_at"], name="generation_task_poll"),
            # History pages, keyset-paged on (created_at, id).
            models.Index(fields=["owner", "-created_at", "-id"], name="generation_task_owner_recent"),
            # The queue badge on every page: a user's tasks in one state.
            models.Index(fields=["owner", "state"], name="generation_task_owner_state"),
            # The team gallery: everyone's tasks, keyset-paged the same way.
            models.Index(fields=["-created_at", "-id"], name="generation_task_recent"),
            # Usage (team/usage.py): a range of everyone's tasks grouped by period and member, model or LoRA, read
            # from the index alone (SQLite: 100,000 tasks in ~0.2 s instead of ~2 s through the table's rows).
            models.Index(
                fields=["created_at", "owner", "state", "n_images", "model_name", "lora_versionid"],
                name="generation_task_usage",
            ),
            # The trash: a user's deleted tasks, most recently deleted first (only the deleted few are indexed).
            models.Index(
                fields=["owner", "-deleted_at", "-id"],
                name="generation_task_trash",
                condition=models.Q(deleted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.prompt[:40]!r} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL

    @property
    def is_settled(self) -> bool:
        """Final and nothing left to store, so its card stops polling. A failed download settles too: its reason
        is shown, and the recovery's retries are minutes apart (1, 2, 4 … min), not worth a poll every 2 s. A
        download still waiting long after the task finished (no worker?) stops the polling as well."""
        if not self.is_final:
            return False
        if not settings.GENERATION_MIRROR_IMAGES or self.storing_overdue:
            return True
        return not self.images_waiting

    @property
    def images_waiting(self) -> int:
        """How many of its images are still to be stored (from the prefetched images when there are)."""
        return sum(image.mirror_state == GeneratedImage.MirrorState.WAITING for image in self.images.all())

    @property
    def storing_overdue(self) -> bool:
        """Finished longer ago than a download may take (GENERATION_STORE_WAIT_SECONDS)."""
        limit = float(settings.GENERATION_STORE_WAIT_SECONDS)
        return self.finished_at is not None and (timezone.now() - self.finished_at).total_seconds() > limit


def _task_folder(task: GenerationTask) -> str:
    created = task.created_at or timezone.now()
    return f"generated/{created:%Y}/{created:%m}/{task.pk}"


def _extension(filename: str, default: str = ".png") -> str:
    ext = os.path.splitext(filename)[1].lower()
    return ext if ext in {".png", ".jpg", ".jpeg", ".webp", ".gif"} else default


def generated_image_path(image: "GeneratedImage", filename: str) -> str:
    return f"{_task_folder(image.task)}/{image.save_index}{_extension(filename)}"


def generated_preview_path(image: "GeneratedImage", filename: str) -> str:
    return f"{_task_folder(image.task)}/{image.save_index}-preview{_extension(filename)}"


def generated_thumbnail_path(image: "GeneratedImage", filename: str) -> str:
    return f"{_task_folder(image.task)}/{image.save_index}-thumb.webp"


class GeneratedImage(models.Model):
    class MirrorState(models.TextChoices):
        WAITING = "waiting", _("Waiting for download")
        STORED = "stored", _("Stored")
        FAILED = "failed", _("Download failed")

    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, related_name="images")
    save_index = models.PositiveSmallIntegerField()
    file = models.FileField(upload_to=generated_image_path, max_length=255, blank=True)  # the vendor's "large"
    preview = models.FileField(upload_to=generated_preview_path, max_length=255, blank=True)  # "middle"
    thumbnail = models.FileField(upload_to=generated_thumbnail_path, max_length=255, blank=True)  # WebP, ~384 px
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    # Signed links expire and may change between polls: kept for the next download attempt only.
    upstream_large_url = models.TextField(blank=True)
    upstream_middle_url = models.TextField(blank=True)
    mirror_state = models.CharField(max_length=8, choices=MirrorState.choices, default=MirrorState.WAITING)
    mirror_attempts = models.PositiveSmallIntegerField(default=0)
    mirror_attempted_at = models.DateTimeField(null=True, blank=True)
    # Who is downloading it: the engine's token (miaohua_site.workers.engine), alive while its lease is.
    mirror_claim = models.CharField(max_length=32, blank=True)
    mirror_error = models.TextField(blank=True)
    stored_at = models.DateTimeField(null=True, blank=True, help_text=_("When our copy was complete"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["task", "save_index"]
        constraints = [
            models.UniqueConstraint(fields=["task", "save_index"], name="generated_image_one_per_index"),
        ]
        indexes = [models.Index(fields=["mirror_state", "mirror_attempted_at"], name="generated_image_mirror")]

    def __str__(self) -> str:
        return f"image {self.save_index} of task #{self.task_id}"

    @property
    def is_stored(self) -> bool:
        return self.mirror_state == self.MirrorState.STORED

    @property
    def retries_left(self) -> bool:
        """A failed download the recovery schedule will try again (up to GENERATION_MIRROR_MAX_ATTEMPTS)."""
        return self.mirror_attempts < int(settings.GENERATION_MIRROR_MAX_ATTEMPTS)


def input_image_path(image: "InputImage", filename: str) -> str:
    now = timezone.now()
    return f"inputs/{now:%Y}/{now:%m}/{uuid.uuid4().hex}{_extension(filename)}"


class InputImage(models.Model):
    """An init or ControlNet image: the user's own upload, or an image picked from their history.

    Task params refer to it as ``"input:<pk>"``; the submit job uploads it to the vendor each time, since the
    vendor's upload links expire."""

    REFERENCE_PREFIX = "input:"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="input_images")
    file = models.FileField(upload_to=input_image_path, max_length=255, blank=True)
    source_image = models.ForeignKey(
        GeneratedImage, on_delete=models.SET_NULL, null=True, blank=True, related_name="used_as_input"
    )
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"input image #{self.pk}"

    @property
    def reference(self) -> str:
        """How task params refer to this image (``init_img`` and ``cn_configs[i]["img"]``)."""
        return f"{self.REFERENCE_PREFIX}{self.pk}"

    @property
    def stored_file(self):
        """The file in storage: the user's upload, or the picked history image (None when that is gone)."""
        if self.file:
            return self.file
        if self.source_image_id and self.source_image and self.source_image.file:
            return self.source_image.file
        return None


class TaskInput(models.Model):
    """One input image a task used: its init image, or the image of one of its ControlNet units. Written when the
    task is stored (its params name the images as ``"input:<pk>"``), so lineage reads an index, never the JSON:
    a task's inputs, and forward from an image, the tasks made from it."""

    class Role(models.TextChoices):
        INIT = "init", _("Init image")
        CONTROLNET = "controlnet", _("ControlNet image")

    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, related_name="inputs")
    image = models.ForeignKey(InputImage, on_delete=models.CASCADE, related_name="uses")
    role = models.CharField(max_length=10, choices=Role.choices)
    position = models.PositiveSmallIntegerField(default=0, help_text=_("The ControlNet unit's index (0 for init)"))

    class Meta:
        ordering = ["task", "role", "position"]
        constraints = [
            models.UniqueConstraint(fields=["task", "role", "position"], name="task_input_one_per_slot"),
        ]
        indexes = [models.Index(fields=["image", "task"], name="task_input_by_image")]

    def __str__(self) -> str:
        return f"{self.image} as {self.role} {self.position} of task #{self.task_id}"


class TaskGroup(models.Model):
    """Tasks made by one submission (issue #13): a batch (several tasks: a batch count, or every expansion of a
    dynamic prompt) or an X/Y/Z sweep (one task per cell of up to three axes). Each task is an ordinary task in
    history; the group lets them be watched, cancelled, downloaded and announced together."""

    class Kind(models.TextChoices):
        BATCH = "batch", _("Batch")
        SWEEP = "sweep", _("Sweep")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_groups")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.BATCH)
    idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False)
    # The sweep's axes as the member chose them: [{"kind": "scale", "values": [...], "labels": ["7", ...]}, ...]
    axes = models.JSONField(default=list, blank=True)
    base_params = models.JSONField(default=dict, blank=True, help_text=_("The form's parameters before expansion"))
    n_tasks = models.PositiveIntegerField(default=0)
    n_images = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Set once every task is final (by whoever sees it first): the notification is due from then on.
    finished_at = models.DateTimeField(null=True, blank=True)
    notice_seen_at = models.DateTimeField(null=True, blank=True, help_text=_("When its owner dismissed the notice"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "idempotency_key"], name="task_group_one_per_key"),
        ]
        indexes = [models.Index(fields=["owner", "finished_at", "notice_seen_at"], name="task_group_notices")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.n_tasks} tasks)"


class Style(models.Model):
    """A saved look (issue #13): prompt and negative-prompt templates with a ``{prompt}`` placeholder, and
    optionally the settings it wants. Personal (its owner's) or the team's (curated by admins, seen by all)."""

    class Scope(models.TextChoices):
        PERSONAL = "personal", _("Personal")
        TEAM = "team", _("Team")

    PLACEHOLDER = "{prompt}"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="styles")
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.PERSONAL)
    name = models.CharField(_("name"), max_length=80)
    prompt = models.TextField(_("prompt template"), blank=True)
    neg_prompt = models.TextField(_("negative prompt template"), blank=True)
    versionid = models.CharField(_("base model"), max_length=200, blank=True)
    model_name = models.CharField(max_length=200, blank=True)
    lora_versionid = models.CharField(_("LoRA"), max_length=200, blank=True)
    lora_weight = models.FloatField(_("LoRA weight"), null=True, blank=True)
    output_size = models.CharField(_("size"), max_length=20, blank=True)
    ddim_steps = models.PositiveSmallIntegerField(_("steps"), null=True, blank=True)
    scale = models.FloatField(_("scale"), null=True, blank=True)
    sample_image = models.ForeignKey(
        GeneratedImage, on_delete=models.SET_NULL, null=True, blank=True, related_name="sample_of_styles"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], condition=models.Q(scope="personal"), name="style_personal_name"
            ),
            models.UniqueConstraint(fields=["name"], condition=models.Q(scope="team"), name="style_team_name"),
        ]

    def __str__(self) -> str:
        return self.name


class WordList(models.Model):
    """A team word list for dynamic prompts (issue #13): ``__name__`` in a prompt is one of its words, picked at
    submission. Managed by admins, used by everyone."""

    name = models.SlugField(_("name"), max_length=60, unique=True)
    words = models.TextField(_("words"), help_text=_("One word or phrase per line"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def word_list(self) -> list[str]:
        return [line.strip() for line in self.words.splitlines() if line.strip()]
