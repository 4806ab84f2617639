"""Writing the audit log (``record``, called inside the action's own transaction) and the retention purge."""

from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.utils import timezone, translation

from miaohua_site.accounts.security import client_ip
from miaohua_site.audit.middleware import current_request
from miaohua_site.audit.models import AuditEvent

PURGE_JOB = "miaohua_site.audit.services.audit_purge"
PURGE_SCHEDULE = "audit: remove events older than AUDIT_RETENTION_DAYS"


class Target(NamedTuple):
    """What an action touched when it is not a model instance at hand (a LogEntry's object, a purged task)."""

    type: str
    id: str
    repr: str


def _ip(request) -> str | None:
    address = client_ip(request) if request is not None else ""  # the proxy-aware address axes counts
    try:
        validate_ipv46_address(address)
    except ValidationError:
        return None
    return address


def _target(target) -> Target:
    if target is None:
        return Target("", "", "")
    if isinstance(target, Target):
        return target
    if isinstance(target, str):
        return Target("", "", target)
    with translation.override("en"):  # stored in English, shown in the reader's language (|stored_message)
        return Target(target._meta.label_lower, str(target.pk), str(target))


def record(action: str, *, actor=None, request=None, target=None, actor_name: str = "", **details) -> AuditEvent:
    """Write one event. Call it inside the action's transaction, so an action rolled back leaves no event and an
    event that cannot be written rolls the action back. ``request`` defaults to the one being answered; the
    actor to its signed-in user; ``actor_name`` names someone without an account (a failed sign-in's user name)."""
    request = request if request is not None else current_request()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    kind, pk, shown = _target(target)
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_name=(actor.get_username() if actor is not None else actor_name)[:150],
        target_type=str(kind)[:100],
        target_id=str(pk)[:64],
        target_repr=str(shown)[:200],
        ip_address=_ip(request),
        details=details,
    )


def audit_purge(*, now=None) -> int:
    """Remove the events older than AUDIT_RETENTION_DAYS (the only delete of audit events). Daily."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEvent.objects.filter(at__lt=cutoff).delete()
    return deleted


def ensure_purge_schedule():
    from django_q.models import Schedule

    schedule, _ = Schedule.objects.update_or_create(
        name=PURGE_SCHEDULE,
        defaults={"func": PURGE_JOB, "schedule_type": Schedule.DAILY, "repeats": -1},
    )
    return schedule
