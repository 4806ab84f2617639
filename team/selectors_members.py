"""What the members page reads: everyone with their membership, and the invitations still waiting."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404

from team.models import Invitation
from team.roles import role_of

User = get_user_model()


@dataclass
class MemberRow:
    user: object
    role: str
    may_use_team_account: bool
    deactivated_at: object
    error: list | None = None  # the message beside this row's controls after a refused change

    @property
    def is_active(self) -> bool:
        return self.user.is_active


def member_rows() -> list[MemberRow]:
    """Everyone, active first then by name (one query: users with their membership)."""
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
