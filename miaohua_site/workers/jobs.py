"""What every kind of background work shares: enqueueing a django-q2 job once the transaction commits,
batching, the "work under a lease, then look once more" loop, and the words for calls that were not sent
or not answered."""

import logging
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from itertools import islice
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop
from django_q.conf import Conf
from django_q.tasks import async_task

from miaohua_site.i18n import english, stored
from miaohua_site.upstream.errors import (
    AccountLimit,
    ProtocolError,
    RateLimited,
    SubmissionFailed,
    UpstreamError,
    UpstreamUnavailable,
)
from miaohua_site.workers.leases import Lease

logger = logging.getLogger(__name__)
T = TypeVar("T")

# What a call that did not go through says, in plain words: stored in English on the task or the job, shown in the
# reader's language (miaohua_site/i18n.py).
NOT_REACHED = gettext_noop("Miaohua could not be reached, so nothing was sent — try again.")
BUSY = gettext_noop("Miaohua was too busy to take it, so nothing was sent — try again in a moment.")
NO_ANSWER = gettext_noop("Miaohua did not answer; it may or may not have started — try again.")
UNSENT = stored(gettext_noop("{reason} Nothing was sent — try again."))

# AccountLimit codes that mean "not now" rather than "not with this account" (digest: "Error codes").
TOO_MANY_RUNNING = 123


def answer_grace() -> timedelta:
    """How long a call sent by an engine that has since lost its lease may still be on its way back: after that,
    a submission caught half way is given up on (never resent)."""
    return timedelta(seconds=float(settings.MIAOHUA_CONNECT_TIMEOUT) + float(settings.MIAOHUA_READ_TIMEOUT) + 5)


def enqueue(func: str, *args, **kwargs) -> None:
    """Enqueue a django-q2 job once the current transaction commits (at once outside one). A broker failure in
    a web request is logged, not shown: the recovery schedule finds what was not enqueued."""

    def send() -> None:
        async_task(func, *args, **kwargs)

    transaction.on_commit(send, robust=not Conf.SYNC)


def batched(items: Iterable[T], size: int) -> Iterable[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def surely_not_done(exc: UpstreamError) -> bool:
    """True when the vendor certainly did nothing with a call that must not be repeated blindly (a submission):
    it was never sent (connection refused, connect timeout), or it was refused before any work (429, the codes
    for "submission failed" and "too many running tasks"). A read timeout, a 5xx after sending, or an answer
    we cannot read leave the outcome unknown."""
    if isinstance(exc, UpstreamUnavailable):
        return not exc.may_have_reached_vendor
    if isinstance(exc, RateLimited | SubmissionFailed):
        return True
    return isinstance(exc, AccountLimit) and exc.code == TOO_MANY_RUNNING


def outcome_unknown(exc: UpstreamError) -> bool:
    """True when a call may or may not have been acted upon (no answer, or one we cannot read)."""
    if isinstance(exc, UpstreamUnavailable):
        return exc.may_have_reached_vendor
    return isinstance(exc, ProtocolError)


def unsent_message(exc: UpstreamError) -> str:
    """Why nothing was sent, for a call that ``surely_not_done``."""
    if isinstance(exc, UpstreamUnavailable):
        return NOT_REACHED
    if isinstance(exc, RateLimited):
        return BUSY
    return english(UNSENT, reason=english(exc.user_message))


def work_under_lease(
    lease: Lease,
    *,
    take: Callable[[], T | None],
    work: Callable[[T], None],
    more: Callable[[], bool],
    budget_seconds: float,
    hand_over: Callable[[], None],
) -> str:
    """Under ``lease`` (already held): ``take`` a piece of work and do it, until there is none; then release and
    look once more (something that arrived meanwhile found the lease held, so it is ours); past the budget,
    release and ``hand_over`` to a fresh job (within django-q2's timeout). Returns why it stopped."""
    deadline = time.monotonic() + budget_seconds
    while True:
        if not lease.renew():
            return "lease lost"
        if time.monotonic() > deadline and not Conf.SYNC:
            lease.release()
            hand_over()
            return "time budget spent"
        piece = take()
        if not piece:
            lease.release()
            if more() and lease.acquire():
                continue
            return "done"
        work(piece)
