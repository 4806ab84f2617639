"""What the members page reads: everyone with their membership, and the invitations still waiting."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.utils import timezone

from team.models import Invitation
from team.roles import role_of

User = get_user_model()


@dataclass
class MemberRow:
    user: object
    role: str
    may_use_team_account: bool
    deactivated_at: object
    locked_until: object = None  # sign-in paused by axes (too many wrong passwords) until then
    error: list | None = None  # the message beside this row's controls after a refused change

    @property
    def is_active(self) -> bool:
        return self.user.is_active


def sign_in_pauses() -> dict[str, object]:
    """User name → until when its sign-in is paused (django-axes: AXES_FAILURE_LIMIT wrong passwords from one
    address within AXES_COOLOFF_TIME); one query."""
    from axes.models import AccessAttempt

    now = timezone.now()
    cooloff = settings.AXES_COOLOFF_TIME
    paused: dict[str, object] = {}
    attempts = AccessAttempt.objects.filter(
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gt=now - cooloff
    ).values_list("username", "attempt_time")
    for username, attempt_time in attempts:
        until = attempt_time + cooloff
        if username and (username not in paused or until > paused[username]):
            paused[username] = until
    return paused


def member_rows() -> list[MemberRow]:
    """Everyone, active first then by name (two queries: users with their membership, the sign-in pauses)."""
    paused = sign_in_pauses()
    rows = []
    for user in User.objects.select_related("membership").order_by("-is_active", "username"):
        membership = getattr(user, "membership", None)
        role = role_of(user)
        rows.append(
            MemberRow(
                user=user,
                role=role,
                may_use_team_account=role == "admin" or bool(membership and membership.uses_team_account),
                deactivated_at=membership.deactivated_at if membership else None,
                locked_until=paused.get(user.get_username()),
            )
        )
    return rows


def pending_invitations():
    """Invitations not used nor revoked (expired ones too, marked so, until revoked)."""
    return Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True).select_related("invited_by")


def member_or_404(pk: int):
    return get_object_or_404(User.objects.select_related("membership"), pk=pk)


def invitation_or_404(pk: int) -> Invitation:
    return get_object_or_404(Invitation, pk=pk)
