"""Connecting a dashboard user to their own Miaohua account, and the one way to get a client for them."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from miaohua_site.accounts import crypto
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent
from miaohua_site.upstream.client import MiaohuaClient


def interactive_read_timeout() -> float:
    """The read timeout of a call a person waits for: the configured one, at most MIAOHUA_INTERACTIVE_TIMEOUT."""
    return min(settings.MIAOHUA_READ_TIMEOUT, settings.MIAOHUA_INTERACTIVE_TIMEOUT)


def _client(*, email: str, password: str, token: str | None = None, on_token=None, interactive: bool = False):
    # The interactive profile, for the few calls a web request must make (the credential check, img2txt): one
    # try, a short read timeout, so a slow vendor is a plain message in seconds. Workers: configured, retries.
    read_timeout = interactive_read_timeout() if interactive else settings.MIAOHUA_READ_TIMEOUT
    return MiaohuaClient(
        settings.MIAOHUA_API_BASE,
        email=email,
        password=password,
        token=token,
        on_token=on_token,
        connect_timeout=settings.MIAOHUA_CONNECT_TIMEOUT,
        read_timeout=read_timeout,
        max_retries=0 if interactive else 3,
    )


def team_account() -> UpstreamAccount | None:
    return UpstreamAccount.objects.filter(is_team=True).first()


def may_use_team_account(user) -> bool:
    """Admins, and the members an admin chose; never a viewer or a deactivated member."""
    from team.roles import Role, membership_of, role_of

    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return False
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    membership = membership_of(user)
    return role == Role.MEMBER and membership is not None and membership.uses_team_account


def account_for_user(user) -> UpstreamAccount | None:
    """The Miaohua account the user's work goes through: their own, else the team's when they may use it."""
    if not getattr(user, "is_authenticated", False):
        return None
    own = UpstreamAccount.objects.filter(user=user).first()
    if own is not None:
        return own
    return team_account() if may_use_team_account(user) else None


def upstream_account_connect(*, user=None, team: bool = False, email: str, password: str) -> UpstreamAccount:
    """Verify the email and password with get_token at once, then store them (encrypted) with the token: the
    user's own account, or with ``team`` the team's (an admin's action; the actor comes from the request).

    Raises the client's LoginFailed / UpstreamUnavailable / UpstreamError; nothing is stored then."""
    token = _client(email=email, password=password, interactive=True).get_token()
    return upstream_account_store(user=user, team=team, email=email, password=password, token=token)


def _stored_account(*, user, team: bool) -> UpstreamAccount | None:
    if team:
        return UpstreamAccount.objects.filter(is_team=True).first()
    return UpstreamAccount.objects.filter(user=user).first()


def upstream_account_store(
    *, user=None, team: bool = False, email: str, password: str, token: str | None = None
) -> UpstreamAccount:
    """Store credentials without asking the vendor (the demo set-up, before the server runs)."""
    if not team and user is None:
        raise ValueError("an account is a user's own or the team's")
    account = _stored_account(user=user, team=team) or (
        UpstreamAccount(is_team=True) if team else UpstreamAccount(user=user)
    )
    account.email = email
    account.password = password
    account.token = token
    account.token_refreshed_at = timezone.now() if token else None
    replaced = account.pk is not None
    if replaced:
        account.connected_at = timezone.now()
    with transaction.atomic():
        account.save()
        action = AuditEvent.Action.ACCOUNT_REPLACED if replaced else AuditEvent.Action.ACCOUNT_CONNECTED
        if team:
            audit.record(action, target=account, team=True)
        else:
            audit.record(action, actor=user, target=account)
    return account


def upstream_account_disconnect(*, user=None, team: bool = False) -> None:
    """Delete the user's own account (or with ``team`` the team's); its tasks keep their history."""
    with transaction.atomic():
        account = _stored_account(user=user, team=team)
        if account is not None:
            if team:
                audit.record(AuditEvent.Action.ACCOUNT_REMOVED, target=account, team=True)
            else:
                audit.record(AuditEvent.Action.ACCOUNT_REMOVED, actor=user, target=account)
            account.delete()


def client_for_account(account: UpstreamAccount, *, interactive: bool = False) -> MiaohuaClient:
    """A client for this account; a token the client obtains on re-login is saved back, encrypted.

    ``interactive``: the profile for a call made inside a web request (no retries, a read timeout of at most
    MIAOHUA_INTERACTIVE_TIMEOUT); workers use the default one."""

    def save_token(token: str) -> None:
        UpstreamAccount.objects.filter(pk=account.pk).update(
            token_encrypted=crypto.encrypt(token), token_refreshed_at=timezone.now()
        )

    return _client(
        email=account.email,
        password=account.password,
        token=account.token,
        on_token=save_token,
        interactive=interactive,
    )


def team_account_sharing_set(*, users) -> tuple[list, list]:
    """Exactly these members may use the team account (``Membership.uses_team_account``; a missing Membership
    row is created, as a member). ``users`` are chosen from ``selectors.team_account_candidates()``; the other
    candidates lose the right. Returns (added, removed) and records them. Admins always may use it."""
    from miaohua_site.accounts.selectors import team_account_candidates
    from team.models import Membership

    chosen = {user.pk for user in users}
    candidates = list(team_account_candidates())
    added = [user for user in candidates if user.pk in chosen and not user.uses_team]
    removed = [user for user in candidates if user.pk not in chosen and user.uses_team]
    if not added and not removed:
        return [], []
    with transaction.atomic():
        for user in added:
            Membership.objects.update_or_create(user=user, defaults={"uses_team_account": True})
        Membership.objects.filter(user__in=removed).update(uses_team_account=False)
        unsent = _team_tasks_refused([user for user in removed if not user.has_own])
        audit.record(
            AuditEvent.Action.TEAM_ACCOUNT_SHARING_CHANGED,
            target="the team's Miaohua account",
            added=[user.get_username() for user in added],
            removed=[user.get_username() for user in removed],
            added_ids=[user.pk for user in added],
            removed_ids=[user.pk for user in removed],
            tasks_failed=unsent,
        )
    return added, removed


def _team_tasks_refused(users) -> int:
    """The queued tasks of members who may no longer use the team account (and have none of their own) fail
    at once, plainly, rather than one by one as they come up."""
    from generation.models import GenerationTask
    from generation.services.submit import TEAM_ACCOUNT_REFUSED

    if not users:
        return 0
    return GenerationTask.objects.filter(
        owner__in=users, state=GenerationTask.State.QUEUED, upstream_account__is_team=True
    ).update(state=GenerationTask.State.FAILED, error_message=TEAM_ACCOUNT_REFUSED, finished_at=timezone.now())
