"""Quotas: how many images a member may ask for per local day and month, and how many tasks they may have in
flight (docs/ARCHITECTURE.md, "Quotas").

A member's own limit (``Membership``) wins; None there is the team's default (``TeamSettings``); None there is
no limit. What counts: the images asked for by the member's tasks that did not fail, created since the start
of the local day / month (``settings.TIME_ZONE``), in the trash or not; in flight: tasks queued, being sent or
generating. ``quota_check`` runs inside ``generation_submit``'s transaction, after the member's quota lock."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext, pgettext

from generation.models import GenerationTask
from miaohua_site.accounts.language import language_of
from miaohua_site.accounts.mail import MailNotSent, mail_connection, send_templated
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent
from miaohua_site.params import day_start
from miaohua_site.workers.jobs import enqueue
from team.models import Membership, QuotaAlert, Role, TeamSettings

logger = logging.getLogger(__name__)

ALERT_SHARE = (4, 5)  # admins are told once a member has used 80 % of an images quota
KINDS = ("images_per_day", "images_per_month", "tasks_in_flight")
NOTIFY_JOB = "team.services.quotas.quota_alert_notify"


@dataclass(frozen=True)
class Limits:
    images_per_day: int | None = None
    images_per_month: int | None = None
    tasks_in_flight: int | None = None

    @property
    def any(self) -> bool:
        return any(getattr(self, kind) is not None for kind in KINDS)


@dataclass(frozen=True)
class Periods:
    """The local day and month a moment falls in, and when each starts again."""

    day_start: datetime
    next_day: datetime
    month_start: datetime
    next_month: datetime

    @classmethod
    def of(cls, moment: datetime | None = None) -> "Periods":
        local = timezone.localtime(moment or timezone.now())
        today = local.date()
        first = today.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return cls(
            day_start=day_start(today),
            next_day=day_start(today + timedelta(days=1)),
            month_start=day_start(first),
            next_month=day_start(following),
        )


@dataclass(frozen=True)
class Quota:
    """One limit of a member: what it is, what is used, what is left, and when it resets (None: never)."""

    kind: str
    limit: int
    used: int
    resets_at: datetime | None

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def share(self) -> int:
        """Per cent used, for a progress bar (0 for a limit of 0 with nothing used)."""
        if self.limit == 0:
            return 100 if self.used else 0
        return min(round(100 * self.used / self.limit), 100)


@dataclass(frozen=True)
class QuotaStatus:
    limits: Limits
    periods: Periods
    day: Quota | None
    month: Quota | None
    in_flight: Quota | None
    running: int = 0  # tasks in flight now (counted only when there is a limit)

    @property
    def quotas(self) -> list[Quota]:
        return [q for q in (self.day, self.month, self.in_flight) if q is not None]

    @property
    def summary(self) -> str:
        return summary(self)

    @property
    def exhausted(self) -> bool:
        return any(quota.left == 0 for quota in self.quotas)


class QuotaExceeded(ValidationError):
    """A submission refused by a quota; ``field`` is the Generate form's field it is about (None: the form)."""

    def __init__(self, message: str, *, kind: str, field: str | None):
        super().__init__(message, code=f"quota_{kind}")
        self.kind = kind
        self.field = field


# --- Reading ----------------------------------------------------------------------------------------------


def team_limits() -> Limits:
    """The team's defaults: one SELECT, no write (the row is made when an admin first saves it)."""
    team = TeamSettings.objects.filter(pk=1).first()
    return Limits(*(getattr(team, kind) for kind in KINDS)) if team is not None else Limits()


def effective_limits(membership: Membership | None, team: Limits | None = None) -> Limits:
    """The member's own limits where set, the team's defaults elsewhere (read only when needed)."""
    own = [getattr(membership, kind, None) for kind in KINDS]
    if all(value is not None for value in own):
        return Limits(*own)
    team = team if team is not None else team_limits()
    return Limits(*(mine if mine is not None else getattr(team, kind) for mine, kind in zip(own, KINDS, strict=True)))


def limits_of(user) -> Limits:
    from team.roles import membership_of

    return effective_limits(membership_of(user))


def _counted(periods: Periods) -> Q:
    return Q(created_at__gte=periods.month_start) | Q(state__in=GenerationTask.IN_FLIGHT)


def _usage_aggregates(periods: Periods) -> dict:
    not_failed = ~Q(state=GenerationTask.State.FAILED)
    return {
        "day": Sum("n_images", filter=Q(created_at__gte=periods.day_start) & not_failed, default=0),
        "month": Sum("n_images", filter=Q(created_at__gte=periods.month_start) & not_failed, default=0),
        "running": Count("pk", filter=Q(state__in=GenerationTask.IN_FLIGHT)),
    }


def usage_of(user, periods: Periods) -> dict:
    """``{"day": images, "month": images, "running": tasks}`` of one member, in one query."""
    return GenerationTask.objects.filter(_counted(periods), owner=user).aggregate(**_usage_aggregates(periods))


def usage_by_member(periods: Periods) -> dict[int, dict]:
    """The same for every member at once (the quotas page): one query, grouped by owner."""
    rows = (
        GenerationTask.objects.filter(_counted(periods))
        .values("owner")
        .annotate(**_usage_aggregates(periods))
        .order_by()
    )
    return {row.pop("owner"): row for row in rows}


def status_from(limits: Limits, usage: dict, periods: Periods) -> QuotaStatus:
    def quota(kind, limit, used, resets_at):
        return Quota(kind, limit, int(used or 0), resets_at) if limit is not None else None

    return QuotaStatus(
        limits=limits,
        periods=periods,
        day=quota("day", limits.images_per_day, usage.get("day"), periods.next_day),
        month=quota("month", limits.images_per_month, usage.get("month"), periods.next_month),
        in_flight=quota("in_flight", limits.tasks_in_flight, usage.get("running"), None),
        running=int(usage.get("running") or 0),
    )


def quota_status(user, *, now: datetime | None = None, limits: Limits | None = None) -> QuotaStatus:
    """What a member may still ask for; no counting at all when they have no limit."""
    limits = limits if limits is not None else limits_of(user)
    periods = Periods.of(now)
    usage = usage_of(user, periods) if limits.any else {}
    return status_from(limits, usage, periods)


# --- Words --------------------------------------------------------------------------------------------------


def _images(n: int) -> str:
    return ngettext("%(n)s image", "%(n)s images", n) % {"n": f"{n:,}"}


def _left(n: int) -> str:
    if n == 0:
        return gettext("none is left")
    return ngettext("%(n)s is left", "%(n)s are left", n) % {"n": f"{n:,}"}


def _used(n: int) -> str:
    return ngettext("%(n)s is used", "%(n)s are used", n) % {"n": f"{n:,}"}


def _month_name(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "F")  # "June", "六月"


def summary(status: QuotaStatus) -> str:
    """The Generate page's line: "Today 12 / 50 images · June 120 / 1,000 · 2 / 3 running · resets at 00:00"."""
    parts = []
    if status.day is not None:
        parts.append(
            gettext("Today %(used)s / %(limit)s images")
            % {"used": f"{status.day.used:,}", "limit": f"{status.day.limit:,}"}
        )
    if status.month is not None:
        values = {
            "month": _month_name(status.periods.month_start),
            "used": f"{status.month.used:,}",
            "limit": f"{status.month.limit:,}",
        }
        if status.day is not None:
            parts.append(gettext("%(month)s %(used)s / %(limit)s") % values)
        else:
            parts.append(gettext("%(month)s %(used)s / %(limit)s images") % values)
    if status.in_flight is not None:
        parts.append(
            gettext("%(used)s / %(limit)s running")
            % {"used": f"{status.in_flight.used:,}", "limit": f"{status.in_flight.limit:,}"}
        )
    if status.day is not None:
        parts.append(gettext("resets at 00:00"))
    elif status.month is not None:
        parts.append(resets_in_words(status.month))
    return " · ".join(parts)


def resets_in_words(quota: Quota) -> str:
    if quota.kind == "day":
        return gettext("resets at midnight")
    local = timezone.localtime(quota.resets_at)
    return gettext("resets on %(date)s") % {"date": date_format(local, pgettext("day and month name", "j F"))}


def refusal(quota: Quota) -> str:
    if quota.kind == "in_flight":
        if quota.limit == 0:
            return gettext("Your quota allows no tasks at the moment; ask an admin.")
        return ngettext(
            "You already have %(n)s task running, your limit; wait for one to finish.",
            "You already have %(n)s tasks running, your limit; wait for one to finish.",
            quota.used,
        ) % {"n": f"{quota.used:,}"}
    values = {
        "images": _images(quota.limit),
        "used": _used(quota.used),
        "left": _left(quota.left),
        "resets": resets_in_words(quota),
    }
    if quota.kind == "day":
        text = gettext(
            "Your daily quota is %(images)s; %(used)s, so %(left)s (%(resets)s). Ask for fewer images or wait."
        )
    else:
        text = gettext(
            "Your monthly quota is %(images)s; %(used)s, so %(left)s (%(resets)s). Ask for fewer images or wait."
        )
    return text % values


# --- Checking (inside generation_submit's transaction, after the quota lock) ----------------------------------


def quota_lock(user) -> None:
    """Take the member's quota lock: the row lock serialises one member's submissions on PostgreSQL (their
    counts then see each other's committed tasks); SQLite's IMMEDIATE transactions are serial anyway."""
    Membership.objects.filter(user=user).update(quota_lock=F("quota_lock") + 1)


def ensure_membership(user) -> Membership:
    """The member's row, made when missing (before the submission's transaction), so the lock has a row."""
    try:
        return user.membership
    except Membership.DoesNotExist:
        pass
    membership, _ = Membership.objects.get_or_create(
        user=user, defaults={"role": Role.ADMIN if user.is_staff else Role.MEMBER}
    )
    user.membership = membership
    return membership


def quota_check(
    user, *, n_images: int, limits: Limits, n_tasks: int = 1, now: datetime | None = None
) -> QuotaStatus | None:
    """Raise ``QuotaExceeded`` when this submission (``n_tasks`` tasks asking for ``n_images`` images in all: a
    batch or a sweep is checked as a whole) would go beyond a limit; the status before it otherwise (None: no
    limits, nothing counted)."""
    if not limits.any:
        return None
    status = quota_status(user, now=now, limits=limits)
    refused = refusal_for(status, n_tasks=n_tasks, n_images=n_images)
    if refused is not None:
        raise refused
    return status


def refusal_for(status: QuotaStatus, *, n_tasks: int, n_images: int) -> QuotaExceeded | None:
    """Why ``n_tasks`` tasks of ``n_images`` images in all would go beyond a quota (None: they fit)."""
    if status.in_flight is not None and status.in_flight.used + n_tasks > status.in_flight.limit:
        if n_tasks == 1:
            return QuotaExceeded(refusal(status.in_flight), kind="in_flight", field=None)
        text = ngettext(
            "These are %(tasks)s tasks; your quota allows %(limit)s running at once, and %(n)s is running now.",
            "These are %(tasks)s tasks; your quota allows %(limit)s running at once, and %(n)s are running now.",
            status.in_flight.used,
        ) % {"tasks": f"{n_tasks:,}", "limit": f"{status.in_flight.limit:,}", "n": f"{status.in_flight.used:,}"}
        return QuotaExceeded(text, kind="in_flight", field=None)
    for quota in (status.day, status.month):
        if quota is not None and quota.used + n_images > quota.limit:
            return QuotaExceeded(refusal(quota), kind=quota.kind, field="n_images")
    return None


def quota_alerts_after(user, *, status: QuotaStatus | None, n_images: int) -> list[QuotaAlert]:
    """After a task is stored: an alert for each images quota this submission took to 80 % or more, once per
    period (the unique row), audited; the admins are emailed once the transaction commits."""
    if status is None:
        return []
    made = []
    for quota, kind in ((status.day, QuotaAlert.Kind.DAY), (status.month, QuotaAlert.Kind.MONTH)):
        if quota is None or quota.limit == 0:
            continue
        used = quota.used + n_images
        if used * ALERT_SHARE[1] < quota.limit * ALERT_SHARE[0]:
            continue
        start = status.periods.day_start if kind == QuotaAlert.Kind.DAY else status.periods.month_start
        alert, created = QuotaAlert.objects.get_or_create(  # a savepoint: a concurrent twin is found, not raised
            user=user,
            kind=kind,
            period_start=timezone.localtime(start).date(),
            defaults={"used": used, "limit": quota.limit},
        )
        if not created:
            continue
        audit.record(
            AuditEvent.Action.QUOTA_ALERT,
            target=user,
            kind=kind,
            used=used,
            limit=quota.limit,
            period_start=alert.period_start.isoformat(),
        )
        enqueue(NOTIFY_JOB, alert.pk)
        made.append(alert)
    return made


def alert_text(alert: QuotaAlert) -> str:
    """The alert in a sentence, in the active language (the recipient's, in an email)."""
    share = round(100 * alert.used / alert.limit) if alert.limit else 100
    values = {"name": alert.user.get_username(), "used": f"{alert.used:,}", "limit": f"{alert.limit:,}", "share": share}
    if alert.kind == QuotaAlert.Kind.DAY:
        return gettext("%(name)s has used %(used)s of %(limit)s images today (%(share)s %%).") % values
    values["month"] = date_format(alert.period_start, "YEAR_MONTH_FORMAT")
    return gettext("%(name)s has used %(used)s of %(limit)s images in %(month)s (%(share)s %%).") % values


def quota_alert_notify(alert_id: int) -> int:
    """Email every active admin with an address about one alert (a django-q2 job, enqueued on commit), each in
    their own language. A mail server that refuses is logged: the submission that caused the alert is long
    stored."""
    alert = QuotaAlert.objects.select_related("user").filter(pk=alert_id).first()
    if alert is None:
        return 0
    from django.contrib.auth import get_user_model

    admins = list(get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="").order_by("pk"))
    if not admins:
        return 0
    sent = 0
    try:
        with mail_connection() as connection:
            for admin in admins:  # one message per admin: no admin sees the others' addresses
                language = language_of(admin)
                with translation.override(language):
                    context = {
                        "alert": alert,
                        "name": alert.user.get_username(),
                        "kind": str(alert.get_kind_display()).lower(),
                        "text": alert_text(alert),
                        "quotas_path": reverse("team_quotas"),
                    }
                try:
                    send_templated(
                        connection=connection,
                        subject_template="team/quota_alert_subject.txt",
                        body_template="team/quota_alert_email.txt",
                        context=context,
                        to_email=admin.email,
                        language=language,
                    )
                except MailNotSent:
                    logger.exception("team: the quota alert #%s could not be emailed to admin #%s", alert.pk, admin.pk)
                else:
                    sent += 1
    except MailNotSent:
        logger.exception("team: the quota alert #%s could not be emailed", alert.pk)
    return sent


# --- Changing (the quotas page) --------------------------------------------------------------------------------


def _limits_dict(obj) -> dict:
    return {kind: getattr(obj, kind) for kind in KINDS}


def team_quotas_update(*, values: dict) -> bool:
    """Set the team's default quotas (None = no limit); audited with the old and new values. False when nothing
    changed (nothing written)."""
    with transaction.atomic():
        team = TeamSettings.objects.select_for_update().get(pk=TeamSettings.load().pk)
        old, new = _limits_dict(team), {kind: values.get(kind) for kind in KINDS}
        if old == new:
            return False
        for kind, value in new.items():
            setattr(team, kind, value)
        team.save()
        audit.record(AuditEvent.Action.TEAM_QUOTA_CHANGED, target="Team default quotas", old=old, new=new)
    return True


def member_quotas_update(*, user, values: dict) -> bool:
    """Set a member's own quotas (None = the team's default); audited with the old and new values."""
    membership = ensure_membership(user)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        old, new = _limits_dict(membership), {kind: values.get(kind) for kind in KINDS}
        if old == new:
            return False
        Membership.objects.filter(pk=membership.pk).update(**new)
        audit.record(AuditEvent.Action.QUOTA_CHANGED, target=user, old=old, new=new)
    return True


def quota_alerts_mark_seen(*, ids: list[int] | None = None) -> int:
    """Mark unseen alerts seen: the ones given, or all of them."""
    unseen = QuotaAlert.objects.filter(seen_at__isnull=True)
    if ids is not None:
        unseen = unseen.filter(pk__in=ids)
    return unseen.update(seen_at=timezone.now())
