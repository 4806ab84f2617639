"""The simulator's whole state. Every web and worker process reads the same rows, so nothing that a
later request depends on lives in memory. Task and training progress are computed from timestamps."""

import hashlib
import secrets
import uuid

from django.db import models

from miaohua_site.simulator import clock


def as_uuid(value) -> uuid.UUID | None:
    """`value` as a UUID when it is one's text; ids sent by a client are otherwise simply unknown."""
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class SimAccount(models.Model):
    """A vendor account (a "tob user"): the demo account, MIAOHUA_SIMULATOR_ACCOUNTS, or one a test made."""

    email = models.EmailField(unique=True)
    password_hash = models.CharField(max_length=128)
    # Account limits, None = unlimited: more pending tasks than this answers 123; credits run out → 124.
    max_running_tasks = models.PositiveIntegerField(null=True, blank=True)
    credits = models.IntegerField(null=True, blank=True, help_text="One credit per image; empty = unlimited")
    banned = models.BooleanField(default=False, help_text="Every call with this account's token answers 416")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = "simulated account"

    def __str__(self):
        return self.email

    @staticmethod
    def _hash(password: str, salt: str) -> str:
        return salt + "$" + hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()

    def set_password(self, password: str) -> None:
        self.password_hash = self._hash(password, secrets.token_hex(8))

    def check_password(self, password: str) -> bool:
        salt = self.password_hash.split("$", 1)[0]
        return secrets.compare_digest(self._hash(password, salt), self.password_hash)

    def expire_tokens_now(self) -> int:
        """Make every token issued so far answer 411, so a client must log in again. Returns how many."""
        now = clock.now()
        return self.tokens.filter(expires_at__gt=now).update(expires_at=now)


class SimToken(models.Model):
    key = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="tokens")
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "simulated token"

    def __str__(self):
        return f"{self.key[:10]}… ({self.account})"


class SimModel(models.Model):
    """A model as `models/base`, `models/lora` and `models/private` list it."""

    class Kind(models.TextChoices):
        BASE = "base"
        LORA = "lora"
        PRIVATE = "private"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    model_id = models.IntegerField()
    versionid = models.CharField(max_length=100, unique=True)
    model_name = models.CharField(max_length=200)
    tag = models.CharField(max_length=50, blank=True)
    author = models.CharField(max_length=100, blank=True)
    base_model = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    is_opensource = models.BooleanField(default=False)
    # Catalog models have no owner; a private model belongs to one account and may come from a training.
    owner = models.ForeignKey(
        SimAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="models"
    )
    training = models.OneToOneField(
        "SimTrainingJob", null=True, blank=True, on_delete=models.CASCADE, related_name="private_model"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = "simulated model"
        ordering = ["model_id"]

    def __str__(self):
        return f"{self.model_name} ({self.versionid})"


class SimUpload(models.Model):
    """An image sent to upload_img(s). The bytes live in the database so every process can serve them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="uploads")
    filename = models.CharField(max_length=255)
    ext = models.CharField(max_length=10)
    image_format = models.CharField(max_length=10)
    content_type = models.CharField(max_length=50)
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    colour = models.CharField(max_length=30, help_text="Dominant colour's name, for img2txt")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = "simulated upload"

    def __str__(self):
        return f"{self.filename} {self.width}x{self.height}"


class SimTask(models.Model):
    """A generation task. `pending` until `ready_at`, then `done` (or `failed` when `error_msg` is set)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="tasks")
    task_type = models.CharField(max_length=10)  # txt2img / img2img
    versionid = models.CharField(max_length=100)
    prompt = models.TextField()
    params = models.JSONField(help_text="Normalised parameters; with the seed they determine the images")
    n_images = models.PositiveSmallIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    seed = models.PositiveIntegerField()
    error_msg = models.CharField(max_length=200, blank=True, help_text="Shown once the task is ready")
    created_at = models.DateTimeField(default=clock.now)
    ready_at = models.DateTimeField()

    class Meta:
        verbose_name = "simulated generation task"
        indexes = [models.Index(fields=["owner", "ready_at"])]

    def __str__(self):
        return f"{self.id} {self.prompt[:40]!r}"


class SimDataset(models.Model):
    owner = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    image_ids = models.JSONField(default=list, help_text="SimUpload ids, in order")
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = "simulated dataset"

    def __str__(self):
        return self.name


class SimTrainingJob(models.Model):
    """A LoRA training. Progress is the share of the training time elapsed since `created_at`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="trainings")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    base_model = models.CharField(max_length=200)
    trigger_word = models.CharField(max_length=200, blank=True)
    main_body = models.CharField(max_length=50)
    dataset_ids = models.JSONField(default=list)
    fails = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)
    ready_at = models.DateTimeField()

    class Meta:
        verbose_name = "simulated training job"

    def __str__(self):
        return self.name


class SimRateHit(models.Model):
    """One accepted call to a rate-limited endpoint; the limit counts these in a sliding window."""

    token_key = models.CharField(max_length=64)
    endpoint = models.CharField(max_length=50)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["token_key", "endpoint", "at"])]

    def __str__(self):
        return f"{self.endpoint} {self.at:%H:%M:%S.%f}"


class SimApiCall(models.Model):
    """Every call the simulator received, for tests and benchmarks (see stats.py)."""

    endpoint = models.CharField(max_length=50)
    at = models.DateTimeField()
    status = models.PositiveSmallIntegerField()
    code = models.IntegerField(null=True, blank=True)
    n_ids = models.PositiveIntegerField(null=True, blank=True, help_text="task_results: ids asked for")
    account_email = models.CharField(max_length=254, blank=True)

    class Meta:
        verbose_name = "simulated API call"
        indexes = [models.Index(fields=["endpoint", "at"])]

    def __str__(self):
        return f"{self.endpoint} {self.status}"


class SimSeedMarker(models.Model):
    """Present once the catalog and the configured accounts are in the tables (see catalog.ensure_seeded)."""

    key = models.CharField(max_length=64, unique=True)

    def __str__(self):
        return self.key
