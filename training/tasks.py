"""django-q2 entry points. Each takes primary keys, reloads, calls a service, and is safe to run twice. Training
jobs themselves are sent and followed by the engine (training/services/jobs.py and poller.py)."""

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


def training_recover_job() -> dict:
    """The one-minute schedule: waiting images, interrupted sends, removals and imports."""
    return services.training_recover()
