"""Accounts and tokens: get_token, authenticating a call, forcing a re-login."""

import re
import secrets
from datetime import timedelta

from django.conf import settings

from miaohua_site.simulator import clock
from miaohua_site.simulator.errors import ApiError, illegal
from miaohua_site.simulator.models import SimAccount, SimToken

TOKEN_FORMAT = re.compile(r"mh\.[A-Za-z0-9_-]{43}")


def account_create(*, email: str, password: str, **limits) -> SimAccount:
    """Create (or reset the password and limits of) an account; for tests and the admin."""
    account = SimAccount.objects.filter(email=email.lower()).first() or SimAccount(email=email.lower())
    account.set_password(password)
    for name, value in limits.items():
        setattr(account, name, value)
    account.save()
    return account


def token_issue(*, email, password) -> str:
    """A new token for these credentials (get_token); every call issues a fresh one."""
    if not isinstance(email, str):
        raise illegal(f"email must be a string, got {email!r}")
    if not isinstance(password, str):
        raise illegal("password must be a string")
    account = SimAccount.objects.filter(email=email.strip().lower()).first()
    if account is None:
        raise ApiError(101, f"email {email.strip()!r} is not registered")
    if not account.check_password(password):
        raise ApiError(102, "password is wrong")
    now = clock.now()
    token = SimToken.objects.create(
        key="mh." + secrets.token_urlsafe(32),
        account=account,
        created_at=now,
        expires_at=now + timedelta(seconds=float(settings.MIAOHUA_SIMULATOR_TOKEN_SECONDS)),
    )
    return token.key


def token_authenticate(key) -> SimToken:
    """The live token `key`, or the vendor's refusal: 401 none, 412 undecodable (also ""), 413 unknown,
    411 expired."""
    if key is None:
        raise ApiError(401, "token is required: get one from get_token")
    if not isinstance(key, str) or not TOKEN_FORMAT.fullmatch(key):
        raise ApiError(412, "token could not be decoded")
    token = SimToken.objects.select_related("account").filter(key=key).first()
    if token is None:
        raise ApiError(413, "token is invalid")
    if token.expires_at <= clock.now():
        raise ApiError(411, "token expired: get a new one from get_token")
    if token.account.banned:
        raise ApiError(416, "user is banned")
    return token


def account_expire_tokens(*, email: str) -> int:
    """Expire every token of this account now (the client must re-login); returns how many."""
    return SimAccount.objects.get(email=email.lower()).expire_tokens_now()
