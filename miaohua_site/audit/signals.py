"""Events nobody's code calls for: Django's sign-in signals, Django admin's change log, and the purge schedule."""

from axes.signals import user_locked_out
from django.contrib.admin.models import LogEntry, LogEntryManager
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_migrate, post_save
from django.dispatch import receiver

from miaohua_site.audit.models import AuditEvent
from miaohua_site.audit.services import Target, ensure_purge_schedule, record

Action = AuditEvent.Action
ADMIN_FLAGS = {1: "added", 2: "changed", 3: "deleted"}


@receiver(user_logged_in, dispatch_uid="audit.sign_in")
def _signed_in(sender, request, user, **kwargs):
    record(Action.SIGN_IN, actor=user, request=request)


@receiver(user_logged_out, dispatch_uid="audit.sign_out")
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        record(Action.SIGN_OUT, actor=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit.sign_in_failed")
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    # Only the user name typed: Django masks the password in ``credentials``, and we keep nothing else of them.
    username = str(credentials.get("username", ""))[:150]
    record(Action.SIGN_IN_FAILED, request=request, actor_name=username, username=username)


@receiver(user_locked_out, dispatch_uid="audit.sign_in_locked_out")
def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    # django-axes: this user name from this address reached AXES_FAILURE_LIMIT wrong passwords.
    username = str(username or "")[:150]
    record(Action.SIGN_IN_LOCKED_OUT, request=request, actor_name=username, username=username)


@receiver(post_save, sender=LogEntry, dispatch_uid="audit.admin_change")
def _admin_change(sender, instance, created, **kwargs):
    if not created:
        return
    content_type = ContentType.objects.get_for_id(instance.content_type_id) if instance.content_type_id else None
    kind = f"{content_type.app_label}.{content_type.model}" if content_type else ""
    record(
        Action.ADMIN_CHANGE,
        actor=instance.user,
        target=Target(kind, instance.object_id or "", instance.object_repr),
        change=ADMIN_FLAGS.get(instance.action_flag, ""),
        message=instance.get_change_message(),
    )


class AuditedLogEntryManager(LogEntryManager):
    """Django admin writes the log of an action on several objects ("Delete selected") with bulk_create, which
    sends no post_save: those entries are recorded here, each as its own event, in the same transaction."""

    def log_actions(self, user_id, queryset, action_flag, change_message="", *, single_object=False):
        entries = super().log_actions(user_id, queryset, action_flag, change_message, single_object=single_object)
        if isinstance(entries, list) and len(entries) > 1:
            for entry in entries:
                _admin_change(LogEntry, entry, created=True)
        return entries


LogEntry.objects.__class__ = AuditedLogEntryManager  # the one manager admin logs through; its instance stays


@receiver(post_migrate, dispatch_uid="audit.ensure_purge_schedule")
def _ensure_purge_schedule_after_migrate(sender, app_config=None, **kwargs) -> None:
    if app_config is not None and app_config.label == "audit":
        ensure_purge_schedule()
