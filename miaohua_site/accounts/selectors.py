"""Reads about Miaohua accounts that grow beyond one line."""

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Case, ExpressionWrapper, Q, QuerySet, Value, When

from team.models import Role


def team_account_candidates() -> QuerySet:
    """The people an admin may let use the team account: active members (viewers, admins and deactivated members
    excluded; a user without a Membership row is a member), each with ``uses_team`` (chosen now) and
    ``has_own`` (has an account of their own, which their work goes through instead). One query."""
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=False)
        .exclude(membership__role=Role.VIEWER)
        .exclude(membership__deactivated_at__isnull=False)
        .annotate(
            uses_team=Case(
                When(membership__uses_team_account=True, then=Value(True)), default=Value(False),
                output_field=BooleanField(),
            ),
            has_own=ExpressionWrapper(Q(upstream_account__isnull=False), output_field=BooleanField()),
        )
        .order_by("username", "pk")
    )
