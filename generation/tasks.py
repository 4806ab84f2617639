"""django-q2 entry points of the generation app. Each takes primary keys, reloads, calls a service, and is safe to
run twice. Submitting, polling and downloads are not jobs: the engine runs them (generation/services/, the
sources registered with miaohua_site/workers/engine.py), so they never wait in django-q2's queue."""

from generation import catalog


def catalog_refresh_job(account_id: int, specs: list) -> dict:
    """Fetch vendor catalogs into the cache for pages to read (generation.catalog); the asker holds each one's
    lock, this job releases it. Safe to run twice: a second run fetches again."""
    return catalog.catalog_refresh(account_id=account_id, specs=specs)
