"""Reads of the quotas page: every member with their limits and what they used, in a fixed number of queries."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from team.models import Membership, QuotaAlert, Role
from team.roles import membership_of
from team.services import quotas


@dataclass
class MemberRow:
    user: object
    membership: Membership | None
    status: quotas.QuotaStatus
    usage: dict
    form: object = None

    @property
    def is_admin(self) -> bool:
        return self.user.is_staff


def members_with_quotas(periods: quotas.Periods) -> list[MemberRow]:
    """Active members and admins (viewers cannot generate), their own limits, effective limits and usage: three
    queries (the people with their rows, the team's defaults, the usage grouped by member)."""
    people = (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(is_staff=False, membership__role=Role.VIEWER)
        .select_related("membership")
        .order_by("username")
    )
    team = quotas.team_limits()
    usage = quotas.usage_by_member(periods)
    rows = []
    for user in people:
        membership = membership_of(user)
        limits = quotas.effective_limits(membership, team)
        used = usage.get(user.pk, {})
        rows.append(MemberRow(user, membership, quotas.status_from(limits, used, periods), used))
    return rows


def unseen_alerts(limit: int = 50) -> list[QuotaAlert]:
    return list(QuotaAlert.objects.filter(seen_at__isnull=True).select_related("user")[:limit])


def unseen_alert_count() -> int:
    return QuotaAlert.objects.filter(seen_at__isnull=True).count()
