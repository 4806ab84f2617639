"""A rate limit shared by every worker process: a sliding window of recent calls kept in one database row
(``RateWindow``), updated by compare-and-set, plus a back-off that a 429 or 5xx sets for everyone.

One write per call: a call is counted from the moment its answer is expected (its start plus the latency
this process has been seeing), written when its slot is taken; only an answer later than that is written
again. The vendor sees a call somewhere between its start and its answer, so counting from a time no earlier
than the answer keeps its count, wherever in between it counts, within the limit (digest: "task_results",
6 calls a second). The engine asks ``try_acquire`` and, when the window is full, waits in its dispatcher,
never in a thread; ``acquire`` is the blocking form for the rare caller outside it."""

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from miaohua_site.workers.models import RateWindow

MAX_BACKOFF_SECONDS = 30.0
FIRST_BACKOFF_SECONDS = 1.0
# The window is a hair longer than the vendor's second: only rounding needs absorbing, since every call is
# counted from its (expected or actual) answer.
WINDOW_SLACK = 0.02


@dataclass
class Slot:
    """A call's place in the window: when it started and the time it is counted from."""

    started: float
    counted_at: float
    answered_at: float | None = None

    def answered(self, at: float | None = None) -> None:
        """Call right after the vendor's answer arrived (before writing what it said)."""
        self.answered_at = time.time() if at is None else at


class RateLimiter:
    """At most ``calls`` calls in any ``per`` seconds for ``name``, across processes.

    Times are wall-clock (``time.time``), so workers on several machines need synchronised clocks (NTP)."""

    def __init__(
        self,
        name: str,
        *,
        calls: int,
        per: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        jitter: float = 0.02,
    ) -> None:
        if calls < 1 or per <= 0:
            raise ValueError("a rate limit needs calls >= 1 and per > 0")
        self.name = name
        self.calls = calls
        self.per = per
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._row_exists = False
        self._latencies: deque[float] = deque(maxlen=16)  # the recent calls' start → answer (this process)
        self._backoff_seen = False

    def __repr__(self) -> str:
        return f"<RateLimiter {self.name} {self.calls}/{self.per}s>"

    @property
    def expected_latency(self) -> float:
        """How long after its start a call is counted from: half as much again as the recent answers' median
        (one slow call, e.g. with a login in it, does not hold back the ones after it; a call answered later
        than this costs a second write, see ``finished``)."""
        if not self._latencies:
            return 0.25
        recent = sorted(self._latencies)
        return min(max(recent[(len(recent) - 1) // 2] * 1.5 + 0.01, 0.02), 2.0)

    def try_acquire(self) -> Slot | float:
        """Take a slot now, or say how many seconds until one may free up (nothing taken then)."""
        self._ensure_row()
        while True:
            row = RateWindow.objects.values("calls", "blocked_until", "backoff_seconds", "version").get(name=self.name)
            self._backoff_seen = row["backoff_seconds"] > 0
            now = self._clock()
            if row["blocked_until"] > now:
                return row["blocked_until"] - now
            counted = sorted(row["calls"])[-self.calls :]
            recent = [at for at in counted if at > now - self.per]
            if len(recent) >= self.calls:
                return max(recent[0] + self.per - now, 0.001)
            slot = Slot(started=now, counted_at=now + self.expected_latency)
            taken = RateWindow.objects.filter(name=self.name, version=row["version"]).update(
                calls=sorted([*counted, slot.counted_at])[-self.calls :], version=F("version") + 1
            )
            if taken:
                return slot
            # Another worker took a slot between our read and our write: look again.

    def acquire(self, *, deadline: float | None = None) -> Slot | None:
        """Wait for a slot and take it; None, with nothing taken, when the wait would pass ``deadline``."""
        while True:
            got = self.try_acquire()
            if isinstance(got, Slot):
                return got
            if deadline is not None and self._clock() + got > deadline:
                return None
            # A little jitter: waiters that saw the same full window do not all wake at the same instant, where
            # the one with the quickest database would win every slot.
            self._sleep(got + random.uniform(0, self._jitter))

    def finished(self, slot: Slot) -> None:
        """The call of ``slot`` is over. Learns its latency, and writes only when the answer came later than
        the time the call was counted from (the count moves to the answer)."""
        answered = slot.answered_at if slot.answered_at is not None else self._clock()
        self._latencies.append(max(answered - slot.started, 0.0))
        if answered <= slot.counted_at:
            return
        while True:
            row = RateWindow.objects.values("calls", "version").get(name=self.name)
            if slot.counted_at not in row["calls"]:
                return  # already pushed out of the window by newer calls
            calls = sorted([at for at in row["calls"] if at != slot.counted_at] + [answered])[-self.calls :]
            updated = RateWindow.objects.filter(name=self.name, version=row["version"]).update(
                calls=calls, version=F("version") + 1
            )
            if updated:
                slot.counted_at = answered
                return

    def back_off(self, *, retry_after: float | None = None) -> float:
        """After a 429 or 5xx: no call for anyone until the back-off (doubling, up to 30 s) has passed.
        Returns the delay."""
        self._ensure_row()
        while True:
            row = RateWindow.objects.values("backoff_seconds", "blocked_until", "version").get(name=self.name)
            backoff = min(max(row["backoff_seconds"] * 2, FIRST_BACKOFF_SECONDS), MAX_BACKOFF_SECONDS)
            delay = max(backoff, min(retry_after or 0.0, MAX_BACKOFF_SECONDS * 2))
            blocked_until = max(row["blocked_until"], self._clock() + delay)
            updated = RateWindow.objects.filter(name=self.name, version=row["version"]).update(
                backoff_seconds=backoff, blocked_until=blocked_until, version=F("version") + 1
            )
            if updated:
                self._backoff_seen = True
                return delay

    def succeeded(self) -> None:
        """A call went through: the next failure starts the back-off afresh (a write only after a back-off)."""
        if not self._backoff_seen:
            return
        RateWindow.objects.filter(name=self.name, backoff_seconds__gt=0).update(
            backoff_seconds=0, version=F("version") + 1
        )
        self._backoff_seen = False

    def _ensure_row(self) -> None:
        if self._row_exists:
            return
        if not RateWindow.objects.filter(name=self.name).exists():
            try:
                with transaction.atomic():
                    RateWindow.objects.create(name=self.name)
            except IntegrityError:
                pass  # another worker created it first
        self._row_exists = True


def account_window(account_id: int) -> RateLimiter:
    """An upstream account's one rate window (digest: 6 calls a second), shared by every poller of that
    account (generation's task_results, training's train_progress) and by every worker process."""
    return RateLimiter(
        f"account:{account_id}",
        calls=int(settings.MIAOHUA_CALLS_PER_SECOND),
        per=1.0 + WINDOW_SLACK,
    )


def account_submit_window(account_id: int) -> RateLimiter:
    """An upstream account's submissions (task_submit and its uploads), ``MIAOHUA_SUBMITS_PER_SECOND``: a window
    of its own, so the members sharing the account share its submissions in turn while its polls keep their
    own (the digest documents 6 a second for task_results only; the simulator counts that endpoint alone)."""
    return RateLimiter(
        f"account:{account_id}:submit",
        calls=int(settings.MIAOHUA_SUBMITS_PER_SECOND),
        per=1.0 + WINDOW_SLACK,
    )
