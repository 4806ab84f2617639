"""The audit log: one row per thing a person (or the purge) did. Rows are written once and never edited."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from miaohua_site.i18n import stored

# What some events name as their target (``target_repr``): stored in English, shown translated (|stored_message).
TARGET_NAMES = (
    gettext_noop("Team default quotas"),
    gettext_noop("Audit log as CSV"),
    gettext_noop("Selected tasks"),
    gettext_noop("the team's Miaohua account"),
)
INVITATION_TARGET = stored(gettext_noop("Invitation for {email}"))  # team.models.Invitation.__str__
ACCOUNT_TARGETS = (  # miaohua_site.accounts.models.MiaohuaAccount.__str__
    stored(gettext_noop("{email} (for {user})")),
    stored(gettext_noop("{email} (the team's)")),
)


class AuditEventRefused(Exception):
    """The product tried to edit or delete an audit event one at a time (only the retention purge deletes)."""


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        SIGN_IN = "sign_in", _("Signed in")
        SIGN_OUT = "sign_out", _("Signed out")
        SIGN_IN_FAILED = "sign_in_failed", _("Failed sign-in")
        ACCOUNT_CONNECTED = "account_connected", _("Miaohua account connected")
        ACCOUNT_REPLACED = "account_replaced", _("Miaohua account replaced")
        ACCOUNT_REMOVED = "account_removed", _("Miaohua account removed")
        SHARING_CHANGED = "sharing_changed", _("Sharing changed")
        TASKS_DELETED = "tasks_deleted", _("Tasks moved to the trash")
        TASKS_RESTORED = "tasks_restored", _("Tasks restored")
        TASK_PURGED = "task_purged", _("Task purged from the trash")
        HISTORY_EXPORTED = "history_exported", _("History exported")
        ZIP_DOWNLOADED = "zip_downloaded", _("ZIP downloaded")
        DATASET_CREATED = "dataset_created", _("Dataset created")
        DATASET_IMAGES_ADDED = "dataset_images_added", _("Dataset images added")
        DATASET_IMAGES_REMOVED = "dataset_images_removed", _("Dataset images removed")
        TRAINING_STARTED = "training_started", _("Training started")
        LORA_LINKED = "lora_linked", _("LoRA linked by hand")
        ADMIN_CHANGE = "admin_change", _("Change in Django admin")
        AUDIT_EXPORTED = "audit_exported", _("Audit log exported")
        # The team (issue #10): members, roles, quotas, the team account, passwords.
        MEMBER_CREATED = "member_created", _("Member created")
        INVITATION_SENT = "invitation_sent", _("Invitation sent")
        INVITATION_REVOKED = "invitation_revoked", _("Invitation revoked")
        INVITATION_ACCEPTED = "invitation_accepted", _("Invitation accepted")
        ROLE_CHANGED = "role_changed", _("Role changed")
        QUOTA_CHANGED = "quota_changed", _("Quota changed")
        TEAM_QUOTA_CHANGED = "team_quota_changed", _("Team default quotas changed")
        QUOTA_ALERT = "quota_alert", _("Quota passed 80 %")
        TEAM_ACCOUNT_SHARING_CHANGED = "team_account_sharing", _("Team account sharing changed")
        MEMBER_DEACTIVATED = "member_deactivated", _("Member deactivated")
        MEMBER_REACTIVATED = "member_reactivated", _("Member reactivated")
        ITEMS_HANDED_OVER = "items_handed_over", _("Collections and datasets handed over")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET_REQUESTED = "password_reset_requested", _("Password reset requested")
        PASSWORD_RESET_LINK_SENT = "password_reset_link_sent", _("Password reset link sent by an admin")
        PASSWORD_RESET_DONE = "password_reset_done", _("Password set from a reset link")
        SIGN_IN_LOCKED_OUT = "sign_in_locked_out", _("Locked out after failed sign-ins")
        SIGN_IN_UNLOCKED = "sign_in_unlocked", _("Sign-in pause lifted by an admin")
        # Dynamic prompts (issue #13): the team's word lists.
        WORD_LIST_CREATED = "word_list_created", _("Word list created")
        WORD_LIST_CHANGED = "word_list_changed", _("Word list changed")
        WORD_LIST_DELETED = "word_list_deleted", _("Word list deleted")

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
                return gettext("yes") if value else gettext("no")
            if isinstance(value, list):
                return ", ".join(str(item) for item in value)
            return str(value)

        line = " · ".join(f"{key}: {shown(value)}" for key, value in sorted(self.details.items()) if value != "")
        return line if len(line) <= 160 else line[:159] + "…"
