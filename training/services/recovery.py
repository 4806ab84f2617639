"""Recovery. Training jobs are the engine's: what a previous engine was sending (claimed before it became
active) is queued again, or failed with "may or may not have started" once its answer can no longer come
(never resent). Datasets are django-q2 jobs: the one-minute schedule restarts senders, removers and imports
that a dead worker left behind."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_q.models import Schedule

from miaohua_site.workers import engine
from miaohua_site.workers.jobs import answer_grace, enqueue
from miaohua_site.workers.leases import lease_is_free
from training.models import DatasetImage, DatasetImport, TrainingJob
from training.services.datasets import IMPORT_JOB, REMOVE_JOB, dataset_send_start, send_lease_name
from training.services.jobs import NO_TRAINING_ANSWER, _fail_job

ImageState = DatasetImage.State
JobState = TrainingJob.State

RECOVER_JOB = "training.tasks.training_recover_job"
RECOVER_SCHEDULE = "training: send waiting images, restart removals and imports"
INTERRUPTED = gettext_noop("The sending was interrupted; retry to send the file again.")  # stored in English
IMPORT_INTERRUPTED = gettext_noop("The import was interrupted; start it again.")



def training_jobs_recover(*, since=None) -> dict:
    """Jobs a previous engine was sending (claimed before ``since``)."""
    now = timezone.now()
    since = since or now
    grace = answer_grace()
    left = TrainingJob.objects.filter(state=JobState.SUBMITTING, claimed_at__lt=since)
    counts = {"gave_up": 0, "requeued": 0}
    for pk in left.filter(submit_attempted_at__lt=now - grace).values_list("pk", flat=True):
        counts["gave_up"] += _fail_job(pk, NO_TRAINING_ANSWER)
    if left.filter(submit_attempted_at__isnull=True).exists():
        counts["requeued"] = left.filter(submit_attempted_at__isnull=True).update(
            state=JobState.QUEUED, claimed_at=None
        )
    return counts


@engine.register
class JobRecoverySource(engine.Chores):
    name = "training-recovery"
    tidy = staticmethod(training_jobs_recover)


def training_recover() -> dict:
    """The one-minute schedule: dataset images waiting with no sender → a sender; sending past the lease →
    failed (retry); removing with no remover → a remover; imports never started → started, or failed when
    interrupted."""
    now = timezone.now()
    counts = {"senders": 0, "interrupted": 0, "removers": 0, "imports": 0}
    lease_seconds = float(settings.TRAINING_SEND_LEASE_SECONDS)
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
        enqueue(REMOVE_JOB, dataset_id, task_name=f"dataset-remove-{dataset_id}-again")
        counts["removers"] += 1
    for pk in DatasetImport.objects.filter(
        state=DatasetImport.State.QUEUED, created_at__lt=now - timedelta(minutes=1)
    ).values_list("pk", flat=True):
        enqueue(IMPORT_JOB, pk, task_name=f"dataset-import-{pk}-again")
        counts["imports"] += 1
    DatasetImport.objects.filter(state=DatasetImport.State.RUNNING, started_at__lt=now - timedelta(minutes=30)).update(
        state=DatasetImport.State.FAILED, error=IMPORT_INTERRUPTED, finished_at=now
    )
    return counts


def ensure_schedules() -> Schedule:
    """The one-minute recovery schedule, created or corrected idempotently (by name)."""
    Schedule.objects.filter(func=RECOVER_JOB).exclude(name=RECOVER_SCHEDULE).delete()  # its former name
    schedule, _ = Schedule.objects.update_or_create(
        name=RECOVER_SCHEDULE,
        defaults={"func": RECOVER_JOB, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
    return schedule
