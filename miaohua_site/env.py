"""Read settings from the environment; fail loudly, naming the variable, when one is wrong."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(
                f"The environment variable {name} is required in production (DEBUG=0). "
                f"Set it, or set DEBUG=1 for a development machine."
            )
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"The environment variable {name} must be 1 or 0, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"The environment variable {name} must be a whole number, not {value!r}.") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"The environment variable {name} must be a number, not {value!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


# The placeholder of .env.example, which a copied file keeps until someone changes it.
SECRET_KEY_PLACEHOLDER = "change-me-to-a-long-random-string"


def check_secret_key(value: str) -> str:
    """A production SECRET_KEY must be no placeholder and as strong as Django's check --deploy asks (W009)."""
    generate = "Generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    if value == SECRET_KEY_PLACEHOLDER or value.startswith(("change-me", "django-insecure-")):
        raise ImproperlyConfigured(
            f"SECRET_KEY is still the example's placeholder; set a secret of your own. {generate}"
        )
    if len(value) < 50 or len(set(value)) < 5:
        raise ImproperlyConfigured(
            f"SECRET_KEY is too weak: it needs at least 50 characters, 5 of them different. {generate}"
        )
    return value
