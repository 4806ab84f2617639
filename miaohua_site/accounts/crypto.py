"""Encryption of stored upstream credentials (Fernet; CREDENTIALS_KEY may list several keys, newest first,
so a key can be rotated without losing what was stored under the old one)."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet(keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "CREDENTIALS_KEY must be one or more Fernet keys (32 url-safe base64-encoded bytes), comma-separated. "
            'Make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        ) from exc


def encrypt(plain: str) -> str:
    return _fernet(settings.CREDENTIALS_KEY).encrypt(plain.encode()).decode()


def decrypt(cipher: str) -> str:
    try:
        return _fernet(settings.CREDENTIALS_KEY).decrypt(cipher.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "Stored upstream credentials cannot be decrypted with CREDENTIALS_KEY: was the key changed? "
            "Put the old key after the new one (comma-separated) to rotate."
        ) from exc
