"""train_submit / train_progress. Progress is the share of MIAOHUA_SIMULATOR_TRAIN_SECONDS elapsed:
`pending` (0.0) for the first tenth, then `running`, then `done` (1.0). A name containing the fail
marker stops at half-way as `failed`. The LoRA of a finished training is created the first time anyone
looks (train_progress, models/private, a task_submit naming a LoRA), idempotently, under the name
`trained_model_name` gives it: spaces become underscores, as in the document's train_progress example
("train model1" → 'train_model1'), unless MIAOHUA_SIMULATOR_RENAME_TRAINED is off."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError

from miaohua_site.simulator import catalog, clock, db
from miaohua_site.simulator.errors import ApiError, parameter_error
from miaohua_site.simulator.models import SimAccount, SimDataset, SimModel, SimTrainingJob, as_uuid

PENDING_SHARE = 0.1
FAIL_AT = 0.5


def _text(body: dict, name: str, *, default=None, max_length=200) -> str:
    """A string field; without a `default` it is required (missing is refused, "" is a value)."""
    value = body.get(name, default)
    if value is None:
        raise parameter_error(f"{name} is required")
    if not isinstance(value, str):
        raise parameter_error(f"{name} must be a string, got {value!r}")
    if len(value) > max_length:
        raise parameter_error(f"{name} is longer than {max_length} characters")
    return value


def trained_model_name(name: str) -> str:
    """The name the trained LoRA gets (and train_progress reports)."""
    if not getattr(settings, "MIAOHUA_SIMULATOR_RENAME_TRAINED", True):
        return name
    return "_".join(name.split())


def training_submit(*, account: SimAccount, body: dict) -> SimTrainingJob:
    name = _text(body, "name").strip()
    taken = (
        SimModel.objects.filter(owner=account, model_name__in={name, trained_model_name(name)}).exists()
        or SimTrainingJob.objects.filter(owner=account, name=name, fails=False).exists()
    )
    if taken:
        raise parameter_error(f"name {name!r} is already used by one of your models or trainings")
    description = _text(body, "description", default="", max_length=2000)
    trigger_word = _text(body, "trigger_word", default="")
    base_model = _text(body, "base_model", default=catalog.TRAIN_AUTO_BASE_MODEL)  # "系统指定" if absent
    if base_model not in catalog.TRAIN_BASE_MODELS:
        raise parameter_error(
            f"base_model {base_model!r} is not in get_train_form: {', '.join(catalog.TRAIN_BASE_MODELS)}"
        )
    main_body = _text(body, "main_body")  # required, though the document shows "Style" as its default
    if main_body not in catalog.TRAIN_MAIN_BODIES:
        raise parameter_error(f"main_body {main_body!r} is not one of {', '.join(catalog.TRAIN_MAIN_BODIES)}")
    dataset_ids = body.get("dataset")
    if dataset_ids is None:
        raise parameter_error("dataset is required (a list of dataset ids from dataset_all)")
    if not isinstance(dataset_ids, list) or not dataset_ids:
        raise parameter_error("dataset must be a non-empty list of dataset ids (from dataset_all)")
    for dataset_id in dataset_ids:
        if not isinstance(dataset_id, int) or isinstance(dataset_id, bool):
            raise parameter_error(f"dataset: {dataset_id!r} is not a dataset id")
        dataset = SimDataset.objects.filter(id=dataset_id, owner=account).first()
        if dataset is None:
            raise parameter_error(f"dataset: there is no dataset {dataset_id} in this account")
        if not dataset.image_ids:
            raise parameter_error(f"dataset: dataset {dataset_id} has no images")

    now = clock.now()
    marker = settings.MIAOHUA_SIMULATOR_FAIL_MARKER
    return SimTrainingJob.objects.create(
        owner=account,
        name=name,
        description=description,
        base_model=catalog.train_base_model_resolve(base_model),
        trigger_word=trigger_word,
        main_body=main_body,
        dataset_ids=list(dict.fromkeys(dataset_ids)),
        fails=bool(marker) and marker.lower() in name.lower(),
        created_at=now,
        ready_at=now + timedelta(seconds=float(settings.MIAOHUA_SIMULATOR_TRAIN_SECONDS)),
    )


def training_get(*, account: SimAccount, task_id) -> SimTrainingJob:
    key = as_uuid(task_id)
    job = SimTrainingJob.objects.filter(id=key, owner=account).first() if key else None
    if job is None:
        raise ApiError(107, f"training task_id {task_id!r} does not exist")
    return job


def training_state(job: SimTrainingJob) -> tuple[str, float]:
    """(state, training_progress) at the simulator's now."""
    total = (job.ready_at - job.created_at).total_seconds()
    elapsed = (clock.now() - job.created_at).total_seconds()
    share = 1.0 if total <= 0 else max(0.0, min(1.0, elapsed / total))
    if job.fails and share >= FAIL_AT:
        return "failed", FAIL_AT
    if share >= 1.0:
        return "done", 1.0
    if share < PENDING_SHARE:
        return "pending", 0.0
    return "running", round(share, 3)


def training_private_model(job: SimTrainingJob) -> SimModel | None:
    """The LoRA of a finished training, created now if nobody has looked since it finished."""
    if training_state(job)[0] != "done":
        return None
    existing = SimModel.objects.filter(training=job).first()
    if existing:
        return existing
    base = SimModel.objects.filter(kind=SimModel.Kind.BASE, model_name=job.base_model).first()
    try:
        with db.atomic():
            return SimModel.objects.create(
                kind=SimModel.Kind.PRIVATE,
                model_id=100000 + int(job.id.hex[:5], 16),
                versionid=f"lora_{job.id.hex[:16]}",
                model_name=trained_model_name(job.name),
                tag="LORA",
                author=job.owner.email,
                base_model=job.base_model,
                description=job.description,
                is_opensource=bool(base and base.is_opensource),
                owner=job.owner,
                training=job,
            )
    except IntegrityError:  # another request created it a moment ago
        return SimModel.objects.get(training=job)


def trainings_settle(*, account: SimAccount) -> None:
    """Create the LoRAs of every finished training of `account` that has none yet."""
    jobs = SimTrainingJob.objects.filter(
        owner=account, fails=False, ready_at__lte=clock.now(), private_model__isnull=True
    )
    for job in jobs:
        training_private_model(job)
