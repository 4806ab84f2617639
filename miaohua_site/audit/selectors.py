"""Reading the audit log: the page's filters as they live in the URL, and keyset pages (never OFFSET)."""

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from miaohua_site.audit.models import AuditEvent
from miaohua_site.params import parse_id


@dataclass
class AuditFilters:
    actor: int | None = None
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_query(cls, params) -> "AuditFilters":
        f = cls(q=params.get("q", "").strip()[:200])
        raw_actor = params.get("actor", "").strip()
        f.actor = parse_id(raw_actor)
        if raw_actor and f.actor is None:
            f.errors["actor"] = "Choose a person from the list."
        action = params.get("action", "").strip()
        if action and action not in AuditEvent.Action.values:
            f.errors["action"] = "Choose an action from the list."
        f.action = action if action in AuditEvent.Action.values else ""
        for key, attr in (("from", "date_from"), ("to", "date_to")):
            raw = params.get(key, "").strip()
            if raw:
                parsed = _date(raw)
                if parsed is None:
                    f.errors[key] = "Use a date like 2026-11-24."
                setattr(f, attr, parsed)
        if f.date_from and f.date_to and f.date_from > f.date_to:
            f.errors["to"] = "The end date is before the start date."
        return f

    @property
    def active(self) -> bool:
        return any([self.actor, self.action, self.date_from, self.date_to, self.q])

    def apply(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        if self.actor:
            events = events.filter(actor_id=self.actor)
        if self.action:
            events = events.filter(action=self.action)
        if self.date_from:
            events = events.filter(at__gte=_start_of(self.date_from))
        if self.date_to:
            events = events.filter(at__lt=_start_of(self.date_to + timedelta(days=1)))
        if self.q:
            events = events.filter(Q(target_repr__icontains=self.q) | Q(target_id=self.q))
        return events


def _date(raw: str) -> date | None:
    """A date typed as YYYY-MM-DD, or None (also for a day that is not in the calendar, like 2026-02-31)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return None
    try:
        day = parse_date(raw)
    except ValueError:
        return None
    return day if 1900 <= day.year <= 9000 else None  # the calendar's ends overflow once shifted to UTC


def _start_of(day: date) -> datetime:
    """Midnight of ``day`` in the site's time zone (the dates a person types are theirs)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def events() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.order_by("-at", "-id")


def cursor_of(event: AuditEvent) -> str:
    return base64.urlsafe_b64encode(f"{event.at.isoformat()}|{event.pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The (time, id) of a cursor we wrote, or None for anything else (the page then starts from the newest)."""
    try:
        stamp, _, pk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        moment = parse_datetime(stamp)
        if moment is None or timezone.is_naive(moment):
            return None
        return moment.astimezone(UTC), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        return None


def page_of(filtered: QuerySet[AuditEvent], *, cursor: str = "", size: int = 50) -> tuple[list[AuditEvent], str]:
    """One keyset page, newest first: (events, cursor of the next page or ""). One query."""
    after = decode_cursor(cursor) if cursor else None
    if after is not None:
        moment, pk = after
        filtered = filtered.filter(Q(at__lt=moment) | Q(at=moment, id__lt=pk), at__lte=moment)
    rows = list(filtered[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (cursor_of(rows[-1]) if more and rows else "")


def people():
    """Who the actor filter offers: everyone with an account (a team is small), by user name."""
    return get_user_model().objects.order_by("username").only("id", "username")
