"""Reading the audit log: the page's filters as they live in the URL, and keyset pages (never OFFSET)."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from miaohua_site.audit.models import AuditEvent
from miaohua_site.paging import decode_cursor, keyset_cursor
from miaohua_site.params import date_range, day_start, parse_id


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
            f.errors["actor"] = gettext("Choose a person from the list.")
        action = params.get("action", "").strip()
        if action and action not in AuditEvent.Action.values:
            f.errors["action"] = gettext("Choose an action from the list.")
        f.action = action if action in AuditEvent.Action.values else ""
        f.date_from, f.date_to = date_range(params, f.errors)
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
            events = events.filter(at__gte=day_start(self.date_from))
        if self.date_to:
            events = events.filter(at__lt=day_start(self.date_to + timedelta(days=1)))
        if self.q:
            events = events.filter(Q(target_repr__icontains=self.q) | Q(target_id=self.q))
        return events


def events() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.order_by("-at", "-id")


def cursor_of(event: AuditEvent) -> str:
    return keyset_cursor(event.at, event.pk)


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
