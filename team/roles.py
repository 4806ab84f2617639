"""Who is what: admin, member or viewer. The one place that reads Membership and is_staff together."""

from team.models import Membership, Role


def membership_of(user) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def role_of(user) -> str:
    """``Role.ADMIN`` / ``MEMBER`` / ``VIEWER``; staff are admins whatever their row says."""
    if user.is_staff:
        return Role.ADMIN
    membership = membership_of(user)
    return membership.role if membership is not None and membership.role != Role.ADMIN else Role.MEMBER


def is_viewer(user) -> bool:
    return getattr(user, "is_authenticated", False) and role_of(user) == Role.VIEWER


def can_generate(user) -> bool:
    """Members and admins send work to Miaohua; viewers only look."""
    return getattr(user, "is_authenticated", False) and user.is_active and role_of(user) != Role.VIEWER
