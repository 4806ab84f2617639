"""The vendor's catalogs (models, LoRAs, ControlNets, the generation form), cached.

Web requests may read catalogs synchronously (ARCHITECTURE: "What runs where"), so every answer is kept in
Django's cache for CATALOG_CACHE_SECONDS — per account where the answer is the account's own (private models)
— with the time it was fetched, so pages can say how fresh it is and offer a refresh."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import client_for_account
from miaohua_site.upstream.types import ControlNet, GenerationForm, Model

MAX_PAGES = 10  # 10 × 100 entries is more than any picker can show


@dataclass
class Cached:
    value: Any
    fetched_at: datetime


def _key(kind: str, account: UpstreamAccount | None, *parts) -> str:
    base = settings.MIAOHUA_API_BASE
    owner = f"acct{account.pk}" if account is not None else "all"
    # Search text goes in hashed: cache keys must not carry spaces or arbitrary characters.
    detail = hashlib.md5("|".join(map(str, parts)).encode()).hexdigest()[:16] if parts else ""
    return ":".join(["catalog", hashlib.md5(base.encode()).hexdigest()[:10], owner, kind, detail])


def _cached(key: str, fetch, refresh: bool) -> Cached:
    hit = None if refresh else cache.get(key)
    if hit is None:
        hit = Cached(fetch(), timezone.now())
        cache.set(key, hit, getattr(settings, "CATALOG_CACHE_SECONDS", 600))
    return hit


def _all_models(method) -> list[Model]:
    models: list[Model] = []
    for page in range(1, MAX_PAGES + 1):
        result = method(page=page, per_page=100)
        models.extend(result.models)
        if not result.has_next:
            break
    return models


def base_models(account: UpstreamAccount, *, refresh: bool = False) -> Cached:
    return _cached(_key("base", None), lambda: _all_models(client_for_account(account).models_base), refresh)


def lora_models(account: UpstreamAccount, *, refresh: bool = False) -> Cached:
    return _cached(_key("lora", None), lambda: _all_models(client_for_account(account).models_lora), refresh)


def private_models(account: UpstreamAccount, *, refresh: bool = False) -> Cached:
    return _cached(_key("private", account), lambda: _all_models(client_for_account(account).models_private), refresh)


def controlnets(account: UpstreamAccount, *, opensource: bool, refresh: bool = False) -> Cached:
    def fetch() -> list[ControlNet]:
        client = client_for_account(account)
        return client.cn_opensource() if opensource else client.cn_artist()

    return _cached(_key("cn", None, "opensource" if opensource else "artist"), fetch, refresh)


def generation_form(account: UpstreamAccount, *, refresh: bool = False) -> Cached:
    return _cached(_key("form", None), lambda: client_for_account(account).get_generation_form(), refresh)


def catalog_page(account: UpstreamAccount, kind: str, *, page: int, per_page: int, query: str, refresh: bool = False):
    """One page of a catalog, as the Catalog page browses it against the vendor (query and paging)."""
    methods = {"base": "models_base", "lora": "models_lora", "private": "models_private"}
    owner = account if kind == "private" else None
    key = _key(f"page-{kind}", owner, page, per_page, query.strip().lower())
    return _cached(
        key,
        lambda: getattr(client_for_account(account), methods[kind])(page=page, per_page=per_page, query=query),
        refresh,
    )


def forget_private_models(account: UpstreamAccount) -> None:
    """A trained LoRA just appeared: the account's private catalog must be read again."""
    cache.delete(_key("private", account))


__all__ = [
    "Cached",
    "GenerationForm",
    "base_models",
    "lora_models",
    "private_models",
    "controlnets",
    "generation_form",
    "catalog_page",
    "forget_private_models",
]
