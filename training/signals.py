"""Creates the training schedule after each migrate (idempotent); imported by TrainingConfig.ready."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate, dispatch_uid="training.ensure_schedules")
def ensure_schedules_after_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    if app_config is None or app_config.label != "training":
        return
    from training.services import ensure_schedules

    ensure_schedules()
