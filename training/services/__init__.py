"""Writes of the training app, by sub-domain:

- ``datasets``  what web requests do to datasets and their images (nothing here calls the vendor)
- ``sender``    sending datasets to Miaohua and removing images from them (django-q2 jobs, a lease each)
- ``importer``  importing the account's datasets from Miaohua and downloading their images (django-q2 jobs)
- ``jobs``      LoRA training jobs: stored by a web request, sent once by the engine's submit lane
- ``poller``    train_progress and the trained LoRA, in the engine's poll lane (the account's rate window)
- ``recovery``  what a dead worker or engine left behind

Design as generation's (docs/ARCHITECTURE.md): claims by conditional UPDATE, the vendor's non-repeatable calls
recorded before they are sent, the shared worker kit in miaohua_site/workers/."""

from training.services.datasets import (
    account_for_email,
    dataset_create,
    dataset_images_from_history,
    dataset_images_remove,
    dataset_images_retry,
    dataset_images_store,
    dataset_import_start,
    dataset_send_start,
    dataset_update,
    send_lease_name,
)
from training.services.importer import dataset_images_fetch, dataset_import
from training.services.jobs import (
    JobSubmitSource,
    notices_dismiss,
    training_lora_link,
    training_send,
    training_submit,
)
from training.services.poller import TrainingPollSource, lora_look, training_progress_check
from training.services.recovery import JobRecoverySource, ensure_schedules, training_jobs_recover, training_recover
from training.services.sender import dataset_remove, dataset_send, vendor_datasets

__all__ = [
    "JobRecoverySource",
    "JobSubmitSource",
    "TrainingPollSource",
    "account_for_email",
    "dataset_create",
    "dataset_images_fetch",
    "dataset_images_from_history",
    "dataset_images_remove",
    "dataset_images_retry",
    "dataset_images_store",
    "dataset_import",
    "dataset_import_start",
    "dataset_remove",
    "dataset_send",
    "dataset_send_start",
    "dataset_update",
    "ensure_schedules",
    "lora_look",
    "notices_dismiss",
    "send_lease_name",
    "training_jobs_recover",
    "training_lora_link",
    "training_progress_check",
    "training_recover",
    "training_send",
    "training_submit",
    "vendor_datasets",
]
