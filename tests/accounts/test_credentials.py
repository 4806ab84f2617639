"""Stored Miaohua credentials are encrypted at rest and never shown."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from miaohua_site.accounts import crypto
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import upstream_account_store

pytestmark = pytest.mark.django_db


def test_it_stores_password_and_token_encrypted(owner):
    upstream_account_store(user=owner, email="owner@miaohua.test", password="s3cret-Pass!", token="tok-abc-123")

    with connection.cursor() as cursor:
        cursor.execute("SELECT password_encrypted, token_encrypted FROM accounts_upstreamaccount")
        password_column, token_column = cursor.fetchone()
    assert "s3cret-Pass!" not in password_column
    assert "tok-abc-123" not in token_column

    account = UpstreamAccount.objects.get(user=owner)
    assert account.password == "s3cret-Pass!"
    assert account.token == "tok-abc-123"


def test_it_never_shows_secrets_in_repr_or_str(owner):
    account = upstream_account_store(user=owner, email="owner@miaohua.test", password="s3cret-Pass!", token="tok-1")
    assert "s3cret" not in repr(account) and "s3cret" not in str(account)
    assert "tok-1" not in repr(account) and "tok-1" not in str(account)


def test_it_reads_old_secrets_after_a_key_rotation(owner, settings):
    old_key = settings.CREDENTIALS_KEY
    upstream_account_store(user=owner, email="owner@miaohua.test", password="before-rotation")

    settings.CREDENTIALS_KEY = f"{Fernet.generate_key().decode()},{old_key}"
    assert UpstreamAccount.objects.get(user=owner).password == "before-rotation"


def test_it_explains_a_wrong_key(owner, settings):
    upstream_account_store(user=owner, email="owner@miaohua.test", password="pw")
    settings.CREDENTIALS_KEY = Fernet.generate_key().decode()
    with pytest.raises(Exception, match="CREDENTIALS_KEY"):
        _ = UpstreamAccount.objects.get(user=owner).password


def test_it_refuses_a_malformed_key(settings):
    settings.CREDENTIALS_KEY = "not-a-fernet-key"
    with pytest.raises(Exception, match="CREDENTIALS_KEY must be"):
        crypto.encrypt("x")
