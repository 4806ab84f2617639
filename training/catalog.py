"""The vendor's training form (get_train_form), kept in the cache and refreshed by the worker like generation's
catalogs (generation/catalog.py): the training page reads it and never waits on the vendor."""

from generation import catalog
from miaohua_site.accounts.models import UpstreamAccount


def train_form(account: UpstreamAccount, *, force: bool = False) -> catalog.Cached:
    """Base models and subjects (``main_body``) one may train with, as cached; asks for a refresh when missing or
    stale (``value`` is None until the worker has fetched it once)."""
    return catalog.train_form(account, force=force)


def train_picker(entry: catalog.Cached) -> catalog.Picker:
    """How the form's two vendor choices stand: ready, loading (the placeholder polls), slow or failed."""
    return catalog.picker_state("train", [entry])
