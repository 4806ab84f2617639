"""LoRA training jobs: stored by a web request (``training_submit``), sent once by the engine's submit lane
(``training_send``: claimed by a conditional UPDATE, the attempt recorded before train_submit, never resent),
then followed by the training poller (``training.services.poller``)."""

import uuid
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from generation import catalog as generation_catalog
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import client_for_account
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent
from miaohua_site.i18n import english, stored
from miaohua_site.upstream.errors import UpstreamError
from miaohua_site.workers import engine
from miaohua_site.workers.jobs import outcome_unknown, surely_not_done, unsent_message
from training.models import TrainingEvent, TrainingJob
from training.selectors import notices_for
from training.services.datasets import account_for_email

JobState = TrainingJob.State

# Stored in English (the job's error_message and log), shown in the reader's language (miaohua_site.i18n).
NOT_CONNECTED = stored(gettext_noop("No connected Miaohua account for {email}: connect it under Settings, then retry."))
NO_TRAINING_ANSWER = gettext_noop(
    "Miaohua did not answer; it may or may not have started — look at Miaohua before trying again."
)
LINKED_BY_HAND = stored(gettext_noop("Linked by hand by {who}: the LoRA {lora} is ready."))


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
    """Store a job (``queued``) for the engine to send; no vendor call here. The same idempotency key (a
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
            _event(job.pk, JobState.QUEUED, gettext_noop("Queued."), at=job.created_at)
            audit.record(AuditEvent.Action.TRAINING_STARTED, actor=user, target=job, datasets=job.vendor_dataset_ids)
    except IntegrityError:
        return TrainingJob.objects.get(owner=user, idempotency_key=idempotency_key)
    engine.wake_on_commit()
    return job


def _fail_job(job_id: int, message: str, *, from_states=(JobState.SUBMITTING,), **extra) -> bool:
    message = english(message)  # a lazy vendor explanation included: stored in English, shown translated
    now = timezone.now()
    moved = TrainingJob.objects.filter(pk=job_id, state__in=from_states).update(
        state=JobState.FAILED, error_message=message, finished_at=now, **extra
    )
    if moved:
        _event(job_id, JobState.FAILED, message, vendor_state=extra.get("vendor_state", ""), at=now)
    return bool(moved)


def training_send(*, job_id: int) -> str:
    """Claim a queued job and call train_submit once. Safe to run twice and beside a recovery: only one run
    claims the job, and ``submit_attempted_at`` is written (fenced by the claim) before the call, so it is
    never resent."""
    claimed_at = timezone.now()
    if not TrainingJob.objects.filter(pk=job_id, state=JobState.QUEUED).update(
        state=JobState.SUBMITTING, claimed_at=claimed_at
    ):
        return "not queued"
    job = TrainingJob.objects.get(pk=job_id)
    _event(job.pk, JobState.SUBMITTING, gettext_noop("Sending to Miaohua."), at=claimed_at)
    account = account_for_email(job.account_email, prefer=job.upstream_account)
    if account is None:
        _fail_job(job.pk, english(NOT_CONNECTED, email=job.account_email))
        return "failed"
    if job.upstream_account_id != account.pk:
        TrainingJob.objects.filter(pk=job.pk).update(upstream_account=account)
    if not TrainingJob.objects.filter(pk=job.pk, state=JobState.SUBMITTING, claimed_at=claimed_at).update(
        submit_attempted_at=timezone.now()
    ):
        return "lost"  # the recovery took it back meanwhile
    client = client_for_account(account)
    client.max_retries = 0
    try:
        upstream_id = client.train_submit(
            name=job.name,
            description=job.description,
            base_model=job.base_model,
            trigger_word=job.trigger_word,
            main_body=job.main_body,
            datasets=job.vendor_dataset_ids,
        )
    except UpstreamError as exc:  # a refusal (a name in use, a dataset without images, limits), or no answer
        if surely_not_done(exc):
            _fail_job(job.pk, unsent_message(exc))
        else:
            _fail_job(job.pk, NO_TRAINING_ANSWER if outcome_unknown(exc) else exc.user_message)
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
    accepted = gettext_noop("Accepted by Miaohua.")
    _event(job.pk, JobState.RUNNING, accepted, vendor_state="submitted", progress=0.0, at=now)
    return "running"


@engine.register
class JobSubmitSource(engine.Source):
    """Queued training jobs, each sent by ``training_send`` in the submit lane."""

    name = "training-submit"
    lane = "submit"
    every = 0.5
    idle_every = 2.0

    def collect(self, now: float):
        queued = list(TrainingJob.objects.filter(state=JobState.QUEUED).order_by("pk").values_list("pk", flat=True))
        self.busy = bool(queued)
        return [engine.Work(key=("training-submit", pk), run=partial(training_send, job_id=pk)) for pk in queued]


def training_lora_link(*, job: TrainingJob, user, lora) -> bool:
    """An admin's pick of the job's LoRA (a private model of its account): the job is done with it. Only once
    Miaohua has finished the training; False when the job has not (or has failed meanwhile)."""
    with transaction.atomic():
        return _lora_link(job=job, user=user, lora=lora)


def _lora_link(*, job: TrainingJob, user, lora) -> bool:
    now = timezone.now()
    finished = Q(state=JobState.DONE) | Q(state=JobState.RUNNING, vendor_done_at__isnull=False)
    moved = (
        TrainingJob.objects.filter(finished, pk=job.pk)
        .update(state=JobState.DONE, lora_versionid=lora.versionid[:200], lora_model_name=lora.model_name[:200],
                error_message="", finished_at=job.finished_at or now)
    )  # fmt: skip
    if not moved:
        return False
    who = user.get_username()
    _event(job.pk, JobState.DONE, english(LINKED_BY_HAND, who=who, lora=repr(lora.model_name)),
           vendor_state=job.vendor_state, progress=1.0, at=now)  # fmt: skip
    audit.record(AuditEvent.Action.LORA_LINKED, actor=user, target=job, lora=lora.versionid, lora_name=lora.model_name)
    if job.upstream_account is not None:
        generation_catalog.forget_private_models(job.upstream_account)
    return True


def notices_dismiss(*, user, job_ids=None) -> None:
    """The user has read these finish/failure notices (or all of them)."""
    jobs = notices_for(user)
    if job_ids is not None:
        jobs = jobs.filter(pk__in=[int(i) for i in job_ids])
    for job in jobs:
        job.notice_dismissed_by.add(user)
