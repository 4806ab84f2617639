"""What the simulator received: every call is a SimApiCall row. For tests and benchmarks, e.g.

    from miaohua_site.simulator import stats
    stats.calls("task_results")                  # how many task_results calls arrived
    stats.calls("task_results", code=429)        # ... of which were refused by the rate limit (vendor code)
    stats.calls("task_results", status=200)      # ... answered with HTTP 200 (in the `live` shape, refusals too)
    stats.ids_requested()                        # task ids asked for over all task_results calls
    stats.reset()

Endpoint names are the digest's (`task_submit`, `models/base`, `dataset/add_images`); file downloads
are `files`. Counts come from the database, so they include calls served by other processes."""

import logging
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Sum

from miaohua_site.simulator import clock
from miaohua_site.simulator.models import SimApiCall

logger = logging.getLogger(__name__)


def record(
    *, endpoint: str, status: int, code: int | None = None, n_ids: int | None = None, email: str = ""
) -> None:
    try:
        SimApiCall.objects.create(
            endpoint=endpoint, at=clock.now(), status=status, code=code, n_ids=n_ids, account_email=email
        )
    except DatabaseError:  # best effort: a stalled call may wake after its test's database is gone
        logger.warning("simulator: could not record a %s call", endpoint, exc_info=True)


def _calls(endpoint: str | None, status: int | None, since: datetime | None, code: int | None = None):
    rows = SimApiCall.objects.all()
    if code is not None:
        rows = rows.filter(code=code)
    if endpoint is not None:
        rows = rows.filter(endpoint=endpoint)
    if status is not None:
        rows = rows.filter(status=status)
    if since is not None:
        rows = rows.filter(at__gte=since)
    return rows


def calls(
    endpoint: str | None = None,
    *,
    status: int | None = None,
    code: int | None = None,
    since: datetime | None = None,
) -> int:
    """How many calls (to `endpoint`, or to any) arrived, optionally only those answered with HTTP `status`
    or vendor `code` (0 for a success; a refusal's code is its HTTP status only in the `seed` shape)."""
    return _calls(endpoint, status, since, code).count()


def ids_requested(endpoint: str = "task_results", *, since: datetime | None = None) -> int:
    """The total number of task ids sent to `endpoint`."""
    return _calls(endpoint, None, since).aggregate(total=Sum("n_ids"))["total"] or 0


def history(endpoint: str | None = None) -> list[SimApiCall]:
    """The calls themselves, oldest first."""
    return list(_calls(endpoint, None, None).order_by("at", "id"))


def reset() -> None:
    SimApiCall.objects.all().delete()
