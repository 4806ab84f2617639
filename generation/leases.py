"""Leases held across worker processes by conditional UPDATEs (``select_for_update`` does nothing on SQLite).

A lease has an expiry: a holder renews it while it works, so a killed worker's lease lapses by itself."""

import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from generation.models import WorkerLease


class Lease:
    """``name`` held by this object (a fresh holder id) for ``seconds`` at a time."""

    def __init__(self, name: str, *, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self.holder = uuid.uuid4().hex
        self.held = False

    def __repr__(self) -> str:
        return f"<Lease {self.name} {'held' if self.held else 'not held'}>"

    def acquire(self) -> bool:
        """Take the lease when it is free or lapsed; True when this holder has it."""
        _ensure_row(self.name)
        now = timezone.now()
        taken = (
            WorkerLease.objects.filter(name=self.name)
            .filter(Q(expires_at__lte=now) | Q(holder=self.holder) | Q(holder=""))
            .update(holder=self.holder, expires_at=now + timedelta(seconds=self.seconds), acquired_at=now)
        )
        self.held = taken == 1
        return self.held

    def renew(self) -> bool:
        """Extend the lease; False when it was lost (lapsed and taken by another holder)."""
        now = timezone.now()
        renewed = WorkerLease.objects.filter(name=self.name, holder=self.holder).update(
            expires_at=now + timedelta(seconds=self.seconds)
        )
        self.held = renewed == 1
        return self.held

    def release(self) -> None:
        WorkerLease.objects.filter(name=self.name, holder=self.holder).update(holder="", expires_at=timezone.now())
        self.held = False


def lease_is_free(name: str) -> bool:
    """True when nobody holds ``name`` (never taken, released, or lapsed)."""
    row = WorkerLease.objects.filter(name=name).values("holder", "expires_at").first()
    return row is None or not row["holder"] or row["expires_at"] <= timezone.now()


def _ensure_row(name: str) -> None:
    if WorkerLease.objects.filter(name=name).exists():
        return
    try:
        with transaction.atomic():
            WorkerLease.objects.create(name=name, holder="", expires_at=timezone.now())
    except IntegrityError:
        pass  # another worker created it first
