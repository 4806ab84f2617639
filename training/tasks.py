"""django-q2 entry points. Each takes primary keys, reloads, calls a service, and is safe to run twice."""

from training import services


def dataset_send_job(dataset_id: int) -> dict:
    """Send the dataset's waiting images to Miaohua in batches (one sender per dataset, held by a lease)."""
    return services.dataset_send(dataset_id=dataset_id)


def dataset_remove_job(dataset_id: int) -> dict:
    """dataset/delete_images for the images marked for removal."""
    return services.dataset_remove(dataset_id=dataset_id)


def dataset_import_job(import_id: int) -> dict:
    """Mirror every dataset of the account from dataset_all."""
    return services.dataset_import(import_id=import_id)


def dataset_images_fetch_job(dataset_id: int) -> dict:
    """Download imported images that have no local file yet."""
    return services.dataset_images_fetch(dataset_id=dataset_id)


def training_submit_job(job_id: int) -> str:
    """Call train_submit once for a queued job, then make sure a poller runs."""
    return services.training_send(job_id=job_id)


def training_poll_job(account_id: int) -> dict:
    """Follow train_progress for the account's running jobs until none runs or the time budget is spent."""
    return services.training_poll(account_id=account_id)


def training_recover_job() -> dict:
    """The one-minute schedule: waiting images, lapsed pollers, stuck jobs."""
    return services.training_recover()
