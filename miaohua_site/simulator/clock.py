"""The simulator's clock. Task states, training progress, token expiry, link expiry and the rate limit
all read `now()`, so a test can jump ahead with `advance(seconds)` instead of sleeping, or `freeze()`
time so that a sequence of calls happens "at the same moment".

This state lives in this process only: it reaches the live server's thread, not a separate worker."""

from datetime import datetime, timedelta

from django.utils import timezone

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    return (_frozen or timezone.now()) + _offset


def advance(seconds: float) -> None:
    """Move the simulator's clock forward (cumulative), e.g. past a task's or a token's lifetime."""
    global _offset
    _offset += timedelta(seconds=seconds)


def freeze() -> None:
    """Stop the clock where it is; only advance() moves it until reset()."""
    global _frozen
    _frozen = timezone.now()


def reset() -> None:
    global _offset, _frozen
    _offset, _frozen = timedelta(0), None
