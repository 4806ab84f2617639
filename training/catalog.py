"""The vendor's training form (get_train_form), cached like generation's catalogs: the training page may read it
in the web request (ARCHITECTURE: "What runs where" allows cached catalogs), with a short timeout."""

import hashlib

from django.conf import settings
from django.core.cache import cache

from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import client_for_account
from miaohua_site.upstream.types import TrainForm


def _key() -> str:
    return "training:train-form:" + hashlib.md5(settings.MIAOHUA_API_BASE.encode()).hexdigest()[:10]


def train_form(account: UpstreamAccount, *, refresh: bool = False) -> TrainForm:
    """Base models and subjects (``main_body``) one may train with. Raises the client's UpstreamError."""
    form = None if refresh else cache.get(_key())
    if form is None:
        client = client_for_account(account)
        client.max_retries = 0  # a web request: one try, a readable error
        try:
            form = client.get_train_form()
        finally:
            client.close()
        cache.set(_key(), form, getattr(settings, "CATALOG_CACHE_SECONDS", 600))
    return form
