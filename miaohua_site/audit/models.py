"""The audit log: one row per thing a person (or the purge) did. Rows are written once and never edited."""

from django.conf import settings
from django.db import models


class AuditEventRefused(Exception):
    """The product tried to edit or delete an audit event one at a time (only the retention purge deletes)."""


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_OUT = "sign_out", "Signed out"
        SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
        ACCOUNT_CONNECTED = "account_connected", "Miaohua account connected"
        ACCOUNT_REPLACED = "account_replaced", "Miaohua account replaced"
        ACCOUNT_REMOVED = "account_removed", "Miaohua account removed"
        SHARING_CHANGED = "sharing_changed", "Sharing changed"
        TASKS_DELETED = "tasks_deleted", "Tasks moved to the trash"
        TASKS_RESTORED = "tasks_restored", "Tasks restored"
        TASK_PURGED = "task_purged", "Task purged from the trash"
        HISTORY_EXPORTED = "history_exported", "History exported"
        ZIP_DOWNLOADED = "zip_downloaded", "ZIP downloaded"
        DATASET_CREATED = "dataset_created", "Dataset created"
        DATASET_IMAGES_ADDED = "dataset_images_added", "Dataset images added"
        DATASET_IMAGES_REMOVED = "dataset_images_removed", "Dataset images removed"
        TRAINING_STARTED = "training_started", "Training started"
        LORA_LINKED = "lora_linked", "LoRA linked by hand"
        ADMIN_CHANGE = "admin_change", "Change in Django admin"
        AUDIT_EXPORTED = "audit_exported", "Audit log exported"
        # The team (issue #10): members, roles, quotas, the team account, passwords.
        MEMBER_CREATED = "member_created", "Member created"
        INVITATION_SENT = "invitation_sent", "Invitation sent"
        INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
        INVITATION_ACCEPTED = "invitation_accepted", "Invitation accepted"
        ROLE_CHANGED = "role_changed", "Role changed"
        QUOTA_CHANGED = "quota_changed", "Quota changed"
        TEAM_QUOTA_CHANGED = "team_quota_changed", "Team default quotas changed"
        QUOTA_ALERT = "quota_alert", "Quota passed 80 %"
        TEAM_ACCOUNT_SHARING_CHANGED = "team_account_sharing", "Team account sharing changed"
        MEMBER_DEACTIVATED = "member_deactivated", "Member deactivated"
        MEMBER_REACTIVATED = "member_reactivated", "Member reactivated"
        ITEMS_HANDED_OVER = "items_handed_over", "Collections and datasets handed over"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
        PASSWORD_RESET_LINK_SENT = "password_reset_link_sent", "Password reset link sent by an admin"
        PASSWORD_RESET_DONE = "password_reset_done", "Password set from a reset link"
        SIGN_IN_LOCKED_OUT = "sign_in_locked_out", "Locked out after failed sign-ins"
        SIGN_IN_UNLOCKED = "sign_in_unlocked", "Sign-in pause lifted by an admin"

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)  # kept when the user is deleted or renamed
    action = models.CharField(max_length=40, choices=Action.choices)
    target_type = models.CharField(max_length=100, blank=True)  # "app_label.model"
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_event_at"),
            models.Index(fields=["actor", "-at", "-id"], name="audit_event_actor"),
            models.Index(fields=["action", "-at", "-id"], name="audit_event_action"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or 'someone'}: {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditEventRefused("An audit event is never edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEventRefused("An audit event is deleted only by the retention purge.")

    @property
    def details_shown(self) -> str:
        """The details in a line for the page ("share_with_team: yes · task_ids: 3, 4"), cut at 160 characters."""

        def shown(value) -> str:
            if isinstance(value, bool):
                return "yes" if value else "no"
            if isinstance(value, list):
                return ", ".join(str(item) for item in value)
            return str(value)

        line = " · ".join(f"{key}: {shown(value)}" for key, value in sorted(self.details.items()) if value != "")
        return line if len(line) <= 160 else line[:159] + "…"
