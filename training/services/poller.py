"""The training poller, as engine sources in the poll lane: ``train_progress`` for each running job (each at most
once per TRAINING_POLL_INTERVAL_SECONDS), and once Miaohua says a job is done, its LoRA looked for in
``models/private`` (a page per call) by the name train_progress reports, matched forgivingly; between rounds
the search backs off (the poll interval, doubling up to TRAINING_LORA_SEARCH_MAX_DELAY_SECONDS) and gives up
after TRAINING_LORA_WAIT_SECONDS, saying so on the job (an admin can then link the LoRA by hand). Every call
goes through the account's rate window, shared with the generation poller
(miaohua_site.workers.ratelimit.account_window), one call of an account at a time."""

import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from generation import catalog as generation_catalog
from miaohua_site.accounts.services import client_for_account
from miaohua_site.i18n import english, stored
from miaohua_site.upstream.errors import (
    AuthenticationError,
    LoginFailed,
    NotFound,
    ProtocolError,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from miaohua_site.upstream.types import TrainProgress
from miaohua_site.workers import engine
from miaohua_site.workers.ratelimit import RateLimiter, account_window
from training.models import TrainingJob
from training.services.jobs import _event, _fail_job

logger = logging.getLogger(__name__)

JobState = TrainingJob.State

# Stored in English (the job's error_message and log), shown in the reader's language (miaohua_site.i18n).
LORA_MISSING = stored(
    gettext_noop(
        "Miaohua finished the training, but no model named {names} turned up among the account's private models "
        "within {wait}. An admin can link the LoRA by hand below."
    )
)
TWO_NAMES = stored(gettext_noop("'{first}' or '{second}'"))
WAIT_WORDS = {
    "hour": stored(gettext_noop("{n} hour")),
    "hours": stored(gettext_noop("{n} hours")),
    "minute": stored(gettext_noop("{n} minute")),
    "minutes": stored(gettext_noop("{n} minutes")),
    "seconds": stored(gettext_noop("{n} seconds")),
}
TIMED_OUT = stored(gettext_noop("Miaohua did not finish the training within {hours} hours."))
UNKNOWN_TRAINING = gettext_noop("Miaohua does not know this training any more.")
STOPPED_SILENTLY = stored(gettext_noop("Miaohua stopped the training ({state}) without saying why."))
COULD_NOT_TRAIN = stored(gettext_noop("Miaohua could not train the LoRA: {reason}"))
VENDOR_REPORTS = stored(gettext_noop("Miaohua reports {state}."))
LORA_READY = stored(gettext_noop("Done: the LoRA {lora} is ready."))

# train_progress states in words (the document shows only "done"; the others are seen in the wild).
VENDOR_STATES = {
    "pending": gettext_noop("Waiting for a trainer at Miaohua."),
    "running": gettext_noop("Training at Miaohua."),
    "done": gettext_noop("Miaohua finished the training; looking for the LoRA."),
}



def _interval() -> float:
    return float(settings.TRAINING_POLL_INTERVAL_SECONDS)


def _client(account):
    client = client_for_account(account)
    client.max_retries = 0  # every call goes through the shared window; back-off is ours
    return client


def _timed_out(job: TrainingJob) -> bool:
    hours = float(settings.TRAINING_TIMEOUT_SECONDS) / 3600
    if job.submitted_at and job.submitted_at < timezone.now() - timedelta(hours=hours):
        return _fail_job(job.pk, english(TIMED_OUT, hours=f"{hours:g}"), from_states=(JobState.RUNNING,))
    return False


def training_progress_check(slot, *, job_id: int, limiter: RateLimiter) -> str:
    """One train_progress call for a running job, and what it said (in a poll thread)."""
    job = TrainingJob.objects.select_related("upstream_account").filter(pk=job_id, state=JobState.RUNNING).first()
    if job is None or job.upstream_account is None:
        return ""
    if _timed_out(job):
        return "failed"
    client = _client(job.upstream_account)
    try:
        progress = client.train_progress(job.upstream_task_id)
    except NotFound:
        slot.answered()
        return "failed" if _fail_job(job.pk, UNKNOWN_TRAINING, from_states=(JobState.RUNNING,)) else ""
    except (RateLimited, UpstreamUnavailable, ProtocolError) as exc:
        slot.answered()
        delay = limiter.back_off(retry_after=getattr(exc, "retry_after", None))
        logger.warning("training poll: %s; backing off %.1f s", exc, delay)
        TrainingJob.objects.filter(pk=job.pk).update(last_polled_at=timezone.now())
        return "backed off"
    except (AuthenticationError, LoginFailed) as exc:
        slot.answered()
        logger.warning("training poll: cannot log in to Miaohua: %s", exc)
        limiter.back_off()
        TrainingJob.objects.filter(pk=job.pk).update(last_polled_at=timezone.now())
        return "login failed"
    except UpstreamError as exc:
        slot.answered()
        logger.warning("training poll: job %s: %s", job.pk, exc)
        TrainingJob.objects.filter(pk=job.pk).update(last_polled_at=timezone.now())
        return ""
    finally:
        client.close()
    slot.answered()
    limiter.succeeded()
    return _record_progress(job, progress)


def _record_progress(job: TrainingJob, progress: TrainProgress) -> str:
    now = timezone.now()
    share = max(0.0, min(1.0, float(progress.training_progress or 0)))
    if progress.is_failed:
        reason = english(STOPPED_SILENTLY, state=repr(progress.state))
        if progress.error_msg:
            reason = english(COULD_NOT_TRAIN, reason=progress.error_msg)
        _fail_job(job.pk, reason, from_states=(JobState.RUNNING,), vendor_state=progress.state[:30],
                  progress=share, last_polled_at=now, poll_attempts=F("poll_attempts") + 1)  # fmt: skip
        return "failed"
    columns = {"vendor_state": progress.state[:30], "last_polled_at": now, "poll_attempts": F("poll_attempts") + 1}
    if progress.model_name and progress.model_name[:200] != job.vendor_model_name:
        columns["vendor_model_name"] = progress.model_name[:200]  # the vendor may rename (digest)
    if progress.is_done:
        columns["progress"] = 1.0
        if job.vendor_done_at is None:
            columns["vendor_done_at"] = now
    else:
        columns["progress"] = max(share, job.progress)  # never backwards on the bar
        if share > 0 and job.progress_started_at is None:
            columns.update(progress_started_at=now, progress_first=share)
    TrainingJob.objects.filter(pk=job.pk, state=JobState.RUNNING).update(**columns)
    if progress.state[:30] != job.vendor_state:
        said = VENDOR_STATES.get(progress.state) or english(VENDOR_REPORTS, state=repr(progress.state))
        _event(job.pk, JobState.RUNNING, said, vendor_state=progress.state[:30], progress=columns["progress"], at=now)
    return "vendor done" if progress.is_done else ""


def name_key(name: str) -> str:
    """A model name as compared when looking for a trained LoRA: the vendor renames ("train model1" →
    "train_model1", digest: "Trained model names"), so case, width, spaces, underscores and dashes do not count."""
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    return re.sub(r"[\s_\-]+", "_", folded).strip("_")


def _wait_words(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return english(WAIT_WORDS["hours" if hours != 1 else "hour"], n=hours)
    if seconds >= 60:
        minutes = round(seconds / 60)
        return english(WAIT_WORDS["minutes" if minutes != 1 else "minute"], n=minutes)
    return english(WAIT_WORDS["seconds"], n=f"{seconds:g}")


@dataclass
class LoraSearch:
    """Looking for a finished job's LoRA, a page of models/private per call: the name train_progress reported,
    exactly, first (on any page); then, over all pages, that name or the training's name, compared forgivingly
    (``name_key``). A round that found nothing waits before the next: the poll interval, doubling each round up
    to TRAINING_LORA_SEARCH_MAX_DELAY_SECONDS."""

    job_id: int
    page: int = 1
    candidates: list = field(default_factory=list)
    next_at: float = 0.0
    rounds: int = 0

    def delay(self) -> float:
        cap = float(settings.TRAINING_LORA_SEARCH_MAX_DELAY_SECONDS)
        return min(_interval() * 2 ** max(self.rounds - 1, 0), max(cap, _interval()))

    def start_over(self) -> None:
        self.rounds += 1
        self.page, self.candidates, self.next_at = 1, [], time.time() + self.delay()


def _give_up_if_due(job: TrainingJob) -> str:
    """Past TRAINING_LORA_WAIT_SECONDS since Miaohua said done: the job is done without a LoRA, and says why."""
    now = timezone.now()
    wait = float(settings.TRAINING_LORA_WAIT_SECONDS)
    if (now - (job.vendor_done_at or now)).total_seconds() < wait:
        return ""
    names = list(dict.fromkeys(n for n in (job.vendor_model_name, job.name) if n))
    shown_names = english(TWO_NAMES, first=names[0], second=names[1]) if len(names) > 1 else repr(names[0])
    message = english(LORA_MISSING, names=shown_names, wait=_wait_words(wait))
    if TrainingJob.objects.filter(pk=job.pk, state=JobState.RUNNING).update(
        state=JobState.DONE, finished_at=now, error_message=message
    ):
        _event(job.pk, JobState.DONE, message, vendor_state=job.vendor_state, progress=1.0, at=now)
        return "done"
    return ""


def lora_look(slot, *, search: LoraSearch, limiter: RateLimiter) -> str:
    """One page of models/private for a job Miaohua finished (in a poll thread)."""
    job = TrainingJob.objects.select_related("upstream_account").filter(pk=search.job_id, state=JobState.RUNNING)
    job = job.first()
    if job is None or job.upstream_account is None:
        return ""
    client = _client(job.upstream_account)
    try:
        result = client.models_private(page=search.page, per_page=100)
    except UpstreamError as exc:
        slot.answered()
        logger.info("training poll: looking for the LoRA of job %s: %s", job.pk, exc)
        if isinstance(exc, RateLimited | UpstreamUnavailable):
            limiter.back_off(retry_after=getattr(exc, "retry_after", None))
        search.start_over()
        return _give_up_if_due(job)
    finally:
        client.close()
    slot.answered()
    limiter.succeeded()
    reported = job.vendor_model_name or job.name
    exact = [m for m in result.models if m.model_name == reported]
    if exact:
        return _link(job, exact[-1])
    search.candidates.extend(result.models)
    if result.has_next and search.page < int(settings.TRAINING_PRIVATE_MAX_PAGES):
        search.page += 1
        search.next_at = 0.0
        return "next page"
    keys = {name_key(n) for n in (job.vendor_model_name, job.name) if n}
    loose = [m for m in search.candidates if name_key(m.model_name) in keys]
    if loose:
        return _link(job, loose[-1])
    search.start_over()
    return _give_up_if_due(job)


def _link(job: TrainingJob, lora) -> str:
    now = timezone.now()
    moved = TrainingJob.objects.filter(pk=job.pk, state=JobState.RUNNING).update(
        state=JobState.DONE, finished_at=now, lora_versionid=lora.versionid[:200],
        lora_model_name=lora.model_name[:200], error_message="",
    )  # fmt: skip
    if not moved:
        return ""
    _event(job.pk, JobState.DONE, english(LORA_READY, lora=repr(lora.model_name)), vendor_state=job.vendor_state,
           progress=1.0, at=now)  # fmt: skip
    generation_catalog.forget_private_models(job.upstream_account)
    return "done"


@engine.register
class TrainingPollSource(engine.Source):
    """Running jobs due for a poll; those Miaohua has finished, a LoRA search."""

    name = "training-poll"
    lane = "poll"
    every = 0.5
    idle_every = 2.0

    def __init__(self) -> None:
        super().__init__()
        self.windows: dict[int, RateLimiter] = {}
        self.searches: dict[int, LoraSearch] = {}

    def _window(self, account_id: int) -> RateLimiter:
        if account_id not in self.windows:
            self.windows[account_id] = account_window(account_id)
        return self.windows[account_id]

    def collect(self, now: float):
        moment = timezone.now()
        running = list(
            TrainingJob.objects.filter(state=JobState.RUNNING, upstream_account__isnull=False).values_list(
                "pk", "upstream_account_id", "last_polled_at", "vendor_done_at"
            )
        )
        self.busy = bool(running)
        self.searches = {pk: s for pk, s in self.searches.items() if pk in {row[0] for row in running}}
        work = []
        for pk, account_id, last_polled_at, vendor_done_at in running:
            limiter = self._window(account_id)
            common = {"limiter": limiter, "serial": ("account", account_id)}
            if vendor_done_at is not None:
                search = self.searches.setdefault(pk, LoraSearch(job_id=pk))
                if now >= search.next_at:
                    run = partial(lora_look, search=search, limiter=limiter)
                    work.append(engine.Work(key=("training-lora", pk), run=run, **common))
            elif last_polled_at is None or (moment - last_polled_at).total_seconds() >= _interval():
                run = partial(training_progress_check, job_id=pk, limiter=limiter)
                work.append(engine.Work(key=("training-poll", pk), run=run, **common))
        return work
