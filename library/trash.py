"""Soft delete: deleted tasks wait in the owner's trash for 30 days, then a daily schedule purges them and
their files. Favourites and sharing live here too: the small writes of the history pages."""

from datetime import timedelta

from django.db import transaction
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django.utils import timezone

from generation.models import GeneratedImage, GenerationTask
from library.models import MemberSettings
from library.selectors import TRASH_DAYS
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent

PURGE_JOB = "library.trash.trash_purge"
PURGE_SCHEDULE = "generation: purge the trash (tasks deleted more than 30 days ago)"


def _tasks_change(action, *, user, tasks, **changes) -> int:
    """Update the chosen tasks and write their audit event in one transaction (the ids, as they were changed)."""
    with transaction.atomic():
        ids = list(tasks.select_for_update().values_list("pk", flat=True))
        count = GenerationTask.objects.filter(pk__in=ids).update(**changes) if ids else 0
        if count:
            audit.record(action, actor=user, target=f"{count} task{'s' if count != 1 else ''}", task_ids=ids)
    return count


def tasks_delete(*, user, task_ids) -> int:
    """Move the user's own tasks to the trash (other ids are ignored)."""
    tasks = GenerationTask.objects.filter(owner=user, pk__in=task_ids, deleted_at__isnull=True)
    return _tasks_change(AuditEvent.Action.TASKS_DELETED, user=user, tasks=tasks, deleted_at=timezone.now())


def tasks_restore(*, user, task_ids) -> int:
    since = timezone.now() - timedelta(days=TRASH_DAYS)
    tasks = GenerationTask.objects.filter(owner=user, pk__in=task_ids, deleted_at__gte=since)
    return _tasks_change(AuditEvent.Action.TASKS_RESTORED, user=user, tasks=tasks, deleted_at=None)


def task_set_favourite(*, task: GenerationTask, favourite: bool) -> GenerationTask:
    GenerationTask.objects.filter(pk=task.pk).update(is_favourite=favourite)
    task.is_favourite = favourite
    return task


def member_set_sharing(*, user, share: bool) -> MemberSettings:
    with transaction.atomic():
        settings_row, _ = MemberSettings.objects.update_or_create(user=user, defaults={"share_with_team": share})
        audit.record(AuditEvent.Action.SHARING_CHANGED, actor=user, target=user, share_with_team=share)
    return settings_row


def _delete_files(image: GeneratedImage) -> None:
    for field in (image.file, image.preview, image.thumbnail):
        if field:
            field.delete(save=False)


def trash_purge(*, now=None) -> int:
    """Delete for good what has been in the trash for more than 30 days, with its files. Safe to run twice."""
    cutoff = (now or timezone.now()) - timedelta(days=TRASH_DAYS)
    purged = 0
    doomed = GenerationTask.objects.filter(deleted_at__lt=cutoff).values_list("pk", flat=True)
    for pk in list(doomed.iterator()):
        images = list(GeneratedImage.objects.filter(task_id=pk))
        with transaction.atomic():
            doomed_task = GenerationTask.objects.filter(pk=pk, deleted_at__lt=cutoff).select_related("owner")
            task = doomed_task.select_for_update(of=("self",)).first()
            if task is not None:
                audit.record(AuditEvent.Action.TASK_PURGED, target=task, owner=task.owner.get_username())
            deleted = task.delete()[0] if task is not None else 0
        if deleted:  # files go after the rows: a crash in between leaves files, never rows without files
            for image in images:
                _delete_files(image)
            purged += 1
    return purged


def ensure_purge_schedule():
    from django_q.models import Schedule

    schedule, _ = Schedule.objects.update_or_create(
        name=PURGE_SCHEDULE,
        defaults={"func": PURGE_JOB, "schedule_type": Schedule.DAILY, "repeats": -1},
    )
    return schedule


@receiver(post_migrate, dispatch_uid="generation.ensure_purge_schedule")
def _ensure_purge_schedule_after_migrate(sender, app_config=None, **kwargs) -> None:
    if app_config is not None and app_config.label == "generation":
        ensure_purge_schedule()
