"""The engine's poll source: every account with tasks at the vendor gets a sweep — its pending tasks, oldest
polled first, ≤ 50 ids per ``task_results`` call — no more often than GENERATION_POLL_INTERVAL_SECONDS.

The calls of one account run one at a time (the engine's ``serial`` key) through the account's rate window
(≤ 6 a second, counted in the database, shared with training's poller and every worker process); while the
window is full they wait in the dispatcher, not in a thread, so any number of accounts is swept at once by the
poll lane's few threads. A sweep's plan lives here, in memory; the database says only what is pending."""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext_noop

from generation.models import GeneratedImage, GenerationTask
from generation.services.submit import task_fail
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import client_for_account
from miaohua_site.i18n import english, stored
from miaohua_site.upstream.client import MAX_TASK_IDS
from miaohua_site.upstream.errors import (
    AccountLimit,
    AuthenticationError,
    LoginFailed,
    ProtocolError,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from miaohua_site.upstream.types import Task as UpstreamTask
from miaohua_site.workers import engine
from miaohua_site.workers.jobs import batched
from miaohua_site.workers.ratelimit import account_window

logger = logging.getLogger(__name__)
# One line per finished sweep (account, tasks in flight at its start, calls made): the benchmark reads it.
sweep_log = logging.getLogger("generation.sweeps")

State = GenerationTask.State

# A task's failure, stored in English (error_message) and shown in the reader's language (miaohua_site.i18n).
NO_IMAGES = gettext_noop("Miaohua finished the task without any image.")
TIMED_OUT = stored(gettext_noop("timed out upstream: Miaohua did not finish the task within {minutes} minutes."))
VENDOR_FAILED = stored(gettext_noop("Miaohua could not generate the images: {reason}"))
VENDOR_SILENT = stored(gettext_noop("Miaohua reported the task as {state} without saying why."))
DAILY_DOWNLOAD_LIMIT = 118  # the vendor's code (digest: "Error codes")
LOGIN_PAUSE_SECONDS = 30.0  # the stored credentials were refused: look again after this
ACCOUNT_CHECK_SECONDS = 10.0  # how often a sweep reads the account again (new credentials, sensitivity)


def timeout_seconds() -> float:
    return float(settings.GENERATION_TIMEOUT_SECONDS)


@dataclass
class Sweep:
    """What one sweep did: the account, the tasks in flight at its start, the task_results calls it made."""

    account_id: int
    in_flight: int
    calls: int
    backoffs: int


def record_results(by_upstream: dict[str, int], results: dict[str, UpstreamTask]) -> tuple[int, int]:
    """Write one task_results answer in a few statements whatever its size: the done tasks (and their images,
    for the download lane) in one UPDATE and one INSERT, the still pending ones in one UPDATE, the failed ones
    one by one (rare)."""
    now = timezone.now()
    answers = {
        pk: results.get(upstream_id) or UpstreamTask.pending(upstream_id) for upstream_id, pk in by_upstream.items()
    }
    finished = {pk: result for pk, result in answers.items() if result.is_done and result.images}
    waiting = {pk: result.wait_time for pk, result in answers.items() if result.is_pending}
    failed = 0
    with transaction.atomic():
        done = _record_done(finished, now) if finished else 0
        for pk, result in answers.items():
            if pk in finished or pk in waiting:
                continue
            message = english(NO_IMAGES) if result.is_done else _vendor_failure(result)
            failed += task_fail(pk, message, from_states=(State.PENDING,), last_polled_at=now,
                                poll_attempts=F("poll_attempts") + 1, select_seed=result.select_seed)  # fmt: skip
        if waiting:
            _still_pending(waiting, now)
    return done, failed


def _still_pending(waits: dict[int, float | None], now) -> None:
    """One UPDATE for every task still pending, each with the vendor's wait estimate: ``CASE id WHEN … END``
    written out, since building 50 ``When`` expressions costs the ORM more than the query costs the database
    (the most frequent write of the poller)."""
    table = connection.ops.quote_name(GenerationTask._meta.db_table)
    cases = " ".join("WHEN %s THEN CAST(%s AS DOUBLE PRECISION)" for _ in waits)
    ids = ", ".join("%s" for _ in waits)
    params = [now, *(x for pk, wait in waits.items() for x in (pk, float(wait) if wait is not None else None))]
    params += [*waits, State.PENDING]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_polled_at = %s, poll_attempts = poll_attempts + 1, "
            f"wait_time = CASE id {cases} ELSE NULL END WHERE id IN ({ids}) AND state = %s",
            [connection.ops.adapt_datetimefield_value(params[0]), *params[1:]],
        )


def _vendor_failure(result: UpstreamTask) -> str:
    if result.error_msg:
        return english(VENDOR_FAILED, reason=result.error_msg)
    return english(VENDOR_SILENT, state=repr(result.state))


def _record_done(finished: dict[int, UpstreamTask], now) -> int:
    """Done: the tasks still pending (locked on PostgreSQL; SQLite's write transaction holds them anyway) move,
    with their seeds, and their images are recorded."""
    moving = list(
        GenerationTask.objects.select_for_update()
        .filter(pk__in=list(finished), state=State.PENDING)
        .values_list("pk", flat=True)
    )
    if not moving:
        return 0
    seeds = {pk: finished[pk].select_seed for pk in moving}
    GenerationTask.objects.filter(pk__in=moving, state=State.PENDING).update(
        state=State.DONE,
        finished_at=now,
        last_polled_at=now,
        poll_attempts=F("poll_attempts") + 1,
        select_seed=Case(
            *[When(pk=pk, then=Value(seed)) for pk, seed in seeds.items()], default=None, output_field=BigIntegerField()
        ),
        wait_time=None,
        error_message="",
    )
    images = []
    for pk in moving:
        result = finished[pk]
        indexes = [image.save_index for image in result.images]
        if len(set(indexes)) != len(indexes):  # not documented to be unique: fall back to the answer's order
            indexes = list(range(len(result.images)))
        images += [
            GeneratedImage(
                task_id=pk,
                save_index=index,
                seed=result.select_seed,
                upstream_large_url=image.large,
                upstream_middle_url=image.middle,
                created_at=now,
            )
            for index, image in zip(indexes, result.images, strict=True)
        ]
    GeneratedImage.objects.bulk_create(images, ignore_conflicts=True)
    return len(moving)


class AccountSweeps:
    """One account's sweeps: the plan of the current one, the account's client, its rate window."""

    def __init__(self, account_id: int, history: list[Sweep]) -> None:
        self.account_id = account_id
        self.history = history
        self.limiter = account_window(account_id)
        self.client = None
        self.fingerprint = None
        self.sensitive = None
        self.next_at = 0.0
        self.outstanding = 0
        self.number = 0
        self.in_flight = 0
        self.calls = 0
        self.backoffs = 0
        self.paused_until = 0.0
        self.account_checked_at = 0.0

    def due(self, now: float) -> bool:
        """The last sweep is over and the interval has passed."""
        return not self.outstanding and now >= max(self.next_at, self.paused_until)

    def needs_account(self, now: float) -> bool:
        return self.client is None or now >= self.account_checked_at + ACCOUNT_CHECK_SECONDS

    def plan(self, now: float, rows: list[tuple[int, str, object]]) -> list[engine.Work]:
        """The next sweep's calls over the account's pending tasks (``rows``: pk, upstream id, submitted at,
        oldest polled first); the ones past the timeout fail instead."""
        if self.client is None:
            return []
        cutoff = timezone.now() - timedelta(seconds=timeout_seconds())
        late = {pk for pk, _, submitted_at in rows if submitted_at is not None and submitted_at < cutoff}
        if late:
            GenerationTask.objects.filter(pk__in=late, state=State.PENDING).update(
                state=State.FAILED, error_message=english(TIMED_OUT, minutes=f"{timeout_seconds() / 60:g}"),
                finished_at=timezone.now(),
            )  # fmt: skip
        pending = [(pk, upstream_id) for pk, upstream_id, _ in rows if pk not in late]
        if not pending:
            return []
        chunks = list(batched(pending, MAX_TASK_IDS))
        self.number += 1
        self.outstanding, self.in_flight, self.calls, self.backoffs = len(chunks), len(pending), 0, 0
        self.next_at = now + float(settings.GENERATION_POLL_INTERVAL_SECONDS)
        return [
            engine.Work(
                key=("generation-poll", self.account_id, self.number, i),
                run=partial(self.call, chunk),
                limiter=self.limiter,
                serial=("account", self.account_id),
                done=self.finished,
            )
            for i, chunk in enumerate(chunks)
        ]

    def use(self, account: UpstreamAccount, now: float) -> None:
        self._use(account)
        self.account_checked_at = now

    def _use(self, account: UpstreamAccount) -> None:
        """A client for the account, kept between sweeps (its connections are reused) until the account's
        credentials change."""
        fingerprint = (account.email, account.password_encrypted, account.connected_at)
        self.sensitive = account.sensitive_limit_value or None
        if self.client is not None and fingerprint == self.fingerprint:
            return
        self.close()
        self.client = client_for_account(account)
        self.client.max_retries = 0  # every call goes through the shared window; back-off is ours
        self.fingerprint = fingerprint

    def call(self, chunk: list[tuple[int, str]], slot) -> str:
        """One task_results call and what it said (in a poll thread)."""
        if time.time() < self.paused_until:
            return "skipped"
        by_upstream = {upstream_id: pk for pk, upstream_id in chunk}
        try:
            results = self.client.task_results(list(by_upstream), sensitive_limit_value=self.sensitive)
        except (RateLimited, UpstreamUnavailable, ProtocolError) as exc:
            slot.answered()
            delay = self.limiter.back_off(retry_after=getattr(exc, "retry_after", None))
            logger.warning("generation poll: %s; backing off %.1f s", exc, delay)
            return "backed off"  # the sweep's other calls wait for the window to open again
        except (AuthenticationError, LoginFailed) as exc:
            # The client already logged in again once; the stored credentials no longer work.
            slot.answered()
            logger.warning("generation poll: cannot log in to Miaohua: %s", exc)
            self.paused_until = time.time() + LOGIN_PAUSE_SECONDS
            return "login failed"
        except AccountLimit as exc:
            if exc.code != DAILY_DOWNLOAD_LIMIT:
                slot.answered()
                self.limiter.back_off()
                return "backed off"
            # Miaohua's daily download limit on the account: these tasks' results cannot be had from it today.
            # They fail with what the limit is and what to do, instead of timing out unexplained.
            slot.answered()
            logger.warning("generation poll: Miaohua refused task_results: %s", exc)
            for pk in by_upstream.values():
                task_fail(pk, exc.user_message, from_states=(State.PENDING,), last_polled_at=timezone.now())
            return "refused"
        except UpstreamError as exc:
            # Any other refusal of the whole call: asked again after a back-off; a task that never gets an answer
            # times out with the plain timeout message.
            slot.answered()
            delay = self.limiter.back_off()
            logger.warning("generation poll: Miaohua refused task_results: %s; backing off %.1f s", exc, delay)
            return "backed off"
        slot.answered()
        self.limiter.succeeded()
        record_results(by_upstream, results)
        return "answered"

    def finished(self, outcome) -> None:
        """In the dispatcher thread, after each call of the sweep."""
        self.outstanding -= 1
        if outcome in ("answered", "backed off", "login failed", "refused"):
            self.calls += 1
        self.backoffs += outcome == "backed off"
        if not self.outstanding:
            self.history.append(Sweep(self.account_id, self.in_flight, self.calls, self.backoffs))
            del self.history[:-1000]
            sweep_log.info("sweep account=%s in_flight=%s calls=%s", self.account_id, self.in_flight, self.calls)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


@engine.register
class PollSource(engine.Source):
    name = "generation-poll"
    lane = "poll"
    every = 0.1
    idle_every = 0.5

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[int, AccountSweeps] = {}
        self.sweeps: list[Sweep] = []  # the latest ones, for tests and the log

    def collect(self, now: float):
        """The accounts with tasks in flight; for those due a sweep, their accounts (every 10 s) and pending
        tasks read in one query each, whatever the number of accounts."""
        ids = set(
            GenerationTask.objects.filter(state=State.PENDING, upstream_account__isnull=False)
            .values_list("upstream_account_id", flat=True)
            .distinct()
            .order_by()
        )
        self.busy = bool(ids)
        for account_id in [a for a, sweeps in self.accounts.items() if a not in ids and not sweeps.outstanding]:
            self.accounts.pop(account_id).close()
        due = []
        for account_id in sorted(ids):
            if account_id not in self.accounts:
                self.accounts[account_id] = AccountSweeps(account_id, self.sweeps)
            if self.accounts[account_id].due(now):
                due.append(self.accounts[account_id])
        if not due:
            return []
        stale = [sweeps.account_id for sweeps in due if sweeps.needs_account(now)]
        for account in UpstreamAccount.objects.filter(pk__in=stale) if stale else ():
            self.accounts[account.pk].use(account, now)
        rows: dict[int, list] = {sweeps.account_id: [] for sweeps in due}
        for account_id, *row in (
            GenerationTask.objects.filter(upstream_account_id__in=list(rows), state=State.PENDING)
            .order_by("upstream_account_id", F("last_polled_at").asc(nulls_first=True), "id")
            .values_list("upstream_account_id", "pk", "upstream_task_id", "submitted_at")
        ):
            rows[account_id].append(row)
        work = []
        for sweeps in due:
            work.extend(sweeps.plan(now, rows[sweeps.account_id]))
        return work

    def close(self) -> None:
        for sweeps in self.accounts.values():
            sweeps.close()
