"""Leases held across worker processes by conditional UPDATEs (``select_for_update`` does nothing on SQLite).

A lease has an expiry: its holder renews it while it works, so a killed worker's lease lapses by itself.
``renew_if_due`` writes only once a third of the lease has gone by, so a holder that checks it before every
vendor call pays about one write per ``seconds / 3``, not one per call."""

import time
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from miaohua_site.workers.models import Lease as LeaseRow


class Lease:
    """``name`` held by this object (``holder``: a fresh id unless given) for ``seconds`` at a time."""

    def __init__(self, name: str, *, seconds: float, holder: str | None = None) -> None:
        self.name = name
        self.seconds = float(seconds)
        self.holder = holder or uuid.uuid4().hex
        self.held = False
        self.acquired_at = None  # when this holder took it (database time, timezone-aware)
        self._renewed = 0.0  # time.monotonic() of the last successful acquire or renew

    def __repr__(self) -> str:
        return f"<Lease {self.name} {'held' if self.held else 'not held'}>"

    def acquire(self) -> bool:
        """Take the lease when it is free or lapsed; True when this holder has it."""
        _ensure_row(self.name)
        now = timezone.now()
        taken = (
            LeaseRow.objects.filter(name=self.name)
            .filter(Q(expires_at__lte=now) | Q(holder=self.holder) | Q(holder=""))
            .update(holder=self.holder, expires_at=now + timedelta(seconds=self.seconds), acquired_at=now)
        )
        self.held = taken == 1
        if self.held:
            self.acquired_at = now
            self._renewed = time.monotonic()
        return self.held

    def renew(self) -> bool:
        """Extend the lease; False when it was lost (lapsed and taken by another holder)."""
        now = timezone.now()
        renewed = LeaseRow.objects.filter(name=self.name, holder=self.holder).update(
            expires_at=now + timedelta(seconds=self.seconds)
        )
        self.held = renewed == 1
        if self.held:
            self._renewed = time.monotonic()
        return self.held

    def renew_if_due(self) -> bool:
        """``renew`` once a third of the lease has passed since the last renewal; True while it is held."""
        if not self.held:
            return False
        if time.monotonic() - self._renewed < self.seconds / 3:
            return True
        return self.renew()

    def release(self) -> None:
        LeaseRow.objects.filter(name=self.name, holder=self.holder).update(holder="", expires_at=timezone.now())
        self.held = False


def holder_is_alive(holder: str) -> bool:
    """True while some lease of ``holder`` has not lapsed (an engine's claims are good while it is)."""
    return bool(holder) and LeaseRow.objects.filter(holder=holder, expires_at__gt=timezone.now()).exists()


def lease_is_free(name: str) -> bool:
    """True when nobody holds ``name`` (never taken, released, or lapsed)."""
    row = LeaseRow.objects.filter(name=name).values("holder", "expires_at").first()
    return row is None or not row["holder"] or row["expires_at"] <= timezone.now()


def _ensure_row(name: str) -> None:
    if LeaseRow.objects.filter(name=name).exists():
        return
    try:
        with transaction.atomic():
            LeaseRow.objects.create(name=name, holder="", expires_at=timezone.now())
    except IntegrityError:
        pass  # another worker created it first
