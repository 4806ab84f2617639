from django.core.cache import cache
from django.utils.functional import SimpleLazyObject

from team.models import Role

ROLE_CACHE_SECONDS = 300


def role_cache_key(user_pk) -> str:
    return f"team-membership-role:{user_pk}"


def cached_role(user) -> str:
    """The membership's role from the cache, read from the database (and kept) when missing."""
    key = role_cache_key(user.pk)
    role = cache.get(key)
    if role is None:
        from team.roles import membership_of

        membership = membership_of(user)
        role = membership.role if membership is not None else Role.MEMBER
        cache.set(key, role, ROLE_CACHE_SECONDS)
    return role


def _can_generate(user) -> bool:
    """The exact test (team.roles.can_generate) without a query on every page and task-card poll: the membership's
    role is kept in the cache, dropped whenever a Membership is saved or deleted (team/signals.py). Only what is
    drawn depends on it; every write view checks the database itself (accounts.decorators)."""
    if not user.is_active:
        return False
    if user.is_staff:
        return True
    return cached_role(user) != Role.VIEWER


def roles(request):
    """``can_generate``: whether the signed-in person may send work and change things (members and admins, not
    viewers); templates hide a viewer's controls with it. Read only where a template asks."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can_generate": False}
    return {"can_generate": SimpleLazyObject(lambda: _can_generate(user))}


def quota_alerts(request):
    """The count of unseen quota alerts beside "Quotas" in an admin's menu: one COUNT, only for staff, only
    where a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    from team.selectors_quotas import unseen_alert_count

    return {"quota_alert_count": SimpleLazyObject(unseen_alert_count)}
