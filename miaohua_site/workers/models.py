"""The rows that coordinate worker processes: named leases and per-account rate windows.

Both are updated by conditional UPDATEs (compare-and-set), never by ``select_for_update``, which does nothing on
SQLite: they hold across processes on SQLite and PostgreSQL alike, and a killed holder's lease lapses by itself."""

from django.db import models
from django.utils import timezone


class Lease(models.Model):
    """A named lease (the engine's, a dataset's sender …) with a holder and an expiry."""

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(default=timezone.now)
    acquired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class RateWindow(models.Model):
    """The recent calls of one rate-limited account (a sliding window shared by every worker process), and the
    back-off a 429 or 5xx sets for everyone. Updated by compare-and-set on ``version``."""

    name = models.CharField(max_length=100, unique=True)
    calls = models.JSONField(default=list, help_text="Unix times the recent calls count from, oldest first")
    blocked_until = models.FloatField(default=0, help_text="Unix time before which no call may start")
    backoff_seconds = models.FloatField(default=0)
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.name
