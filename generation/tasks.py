"""django-q2 entry points. Each takes primary keys, reloads, calls a service, and is safe to run twice."""

from generation import services


def task_submit_job(task_id: int) -> str:
    """Upload the task's input images and send it to Miaohua once; then make sure a poll sweep runs."""
    return services.generation_send(task_id=task_id)


def poll_sweep_job(account_id: int) -> dict:
    """Poll the account's in-flight tasks until none is left or the time budget is spent (then it re-enqueues
    itself). A second job for an account whose sweep holds the lease returns at once."""
    return services.generation_poll(account_id=account_id).as_dict()


def images_mirror_job(task_id: int, refresh_links: bool = False) -> dict:
    """Download a done task's images into our storage (a retry first asks Miaohua for fresh links)."""
    return services.images_mirror(task_id=task_id, refresh_links=refresh_links)


def generation_recover_job() -> dict:
    """The one-minute schedule: restart lapsed sweeps, recover stuck tasks, retry failed downloads."""
    return services.generation_recover()


def catalog_refresh_job(account_id: int, specs: list) -> dict:
    """Fetch vendor catalogs into the cache for pages to read (generation.catalog); the asker holds each one's
    lock, this job releases it. Safe to run twice: a second run fetches again."""
    from generation import catalog

    return catalog.catalog_refresh(account_id=account_id, specs=specs)
