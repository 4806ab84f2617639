"""A rate limit shared by every worker process: a sliding window of recent call times kept in one database row
(``RateWindow``), updated by compare-and-set, plus a back-off that a 429 or 5xx sets for everyone."""

import time
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import F

from generation.models import RateWindow

MAX_BACKOFF_SECONDS = 30.0
FIRST_BACKOFF_SECONDS = 1.0


class RateLimiter:
    """At most ``calls`` calls in any ``per`` seconds for ``name``, across processes: a call starts only when
    fewer than ``calls`` earlier calls were answered (or are still under way) within the last ``per`` seconds.

    Times are wall-clock (``time.time``), so workers on several machines need synchronised clocks (NTP)."""

    def __init__(
        self,
        name: str,
        *,
        calls: int,
        per: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls < 1 or per <= 0:
            raise ValueError("a rate limit needs calls >= 1 and per > 0")
        self.name = name
        self.calls = calls
        self.per = per
        self._clock = clock
        self._sleep = sleep
        self._row_exists = False

    def __repr__(self) -> str:
        return f"<RateLimiter {self.name} {self.calls}/{self.per}s>"

    def acquire(self, *, deadline: float | None = None) -> float | None:
        """Wait for a free slot and take it; returns the slot (its start time) for ``finished``. None, with
        nothing taken, when the wait would pass ``deadline`` (a ``time.time()`` value)."""
        self._ensure_row()
        while True:
            row = RateWindow.objects.values("calls", "blocked_until", "version").get(name=self.name)
            now = self._clock()
            recent = sorted(at for at in row["calls"] if at > now - self.per)
            wait = 0.0
            if row["blocked_until"] > now:
                wait = row["blocked_until"] - now
            elif len(recent) >= self.calls:
                wait = recent[-self.calls] + self.per - now
            if wait > 0:
                if deadline is not None and now + wait > deadline:
                    return None
                self._sleep(wait)
                continue
            kept = recent[max(0, len(recent) - self.calls + 1) :]
            taken = RateWindow.objects.filter(name=self.name, version=row["version"]).update(
                calls=[*kept, now], version=F("version") + 1
            )
            if taken:
                return now
            # Another worker took a slot between our read and our write: look again.

    def finished(self, slot: float) -> None:
        """The call of ``slot`` has been answered: count it from now on. The vendor saw it somewhere between
        its start and now, so spacing starts ``per`` apart from the previous answers keeps its count, wherever
        it counts, within the limit (a login or a slow answer in between cannot squeeze the window)."""
        while True:
            row = RateWindow.objects.values("calls", "version").get(name=self.name)
            if slot not in row["calls"]:
                return
            calls = sorted([at for at in row["calls"] if at != slot] + [max(self._clock(), slot)])
            updated = RateWindow.objects.filter(name=self.name, version=row["version"]).update(
                calls=calls, version=F("version") + 1
            )
            if updated:
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
                return delay

    def succeeded(self) -> None:
        """A call went through: the next failure starts the back-off afresh."""
        RateWindow.objects.filter(name=self.name, backoff_seconds__gt=0).update(
            backoff_seconds=0, version=F("version") + 1
        )

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
