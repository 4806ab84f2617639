"""The team: each person's role and quotas (Membership), the team's defaults (TeamSettings), invitations, and
the 80 % quota alerts already sent.

A user without a Membership row (made before the team pages existed, or by Django admin) is a member, or an
admin when ``is_staff``; ``team.roles`` reads both. ``is_staff`` stays the one test of "admin" everywhere: the
services that change a role keep it in step."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MEMBER = "member", _("Member")
    ADMIN = "admin", _("Admin")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # May send work through the team's Miaohua account when they have none of their own (chosen by an admin).
    uses_team_account = models.BooleanField(_("may use the team account"), default=False)
    # Quotas: None = the team's default (TeamSettings); a number = this member's own limit (0 = nothing).
    images_per_day = models.PositiveIntegerField(null=True, blank=True)
    images_per_month = models.PositiveIntegerField(null=True, blank=True)
    tasks_in_flight = models.PositiveIntegerField(null=True, blank=True)
    # Taken (UPDATE … SET quota_lock = quota_lock + 1) at the start of a submission's transaction, so two
    # submissions of one member count their quota one after the other (PostgreSQL row lock; SQLite IMMEDIATE).
    quota_lock = models.PositiveBigIntegerField(default=0, editable=False)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class TeamSettings(models.Model):
    """One row (pk=1): the team's default quotas. None = no limit."""

    images_per_day = models.PositiveIntegerField(null=True, blank=True)
    images_per_month = models.PositiveIntegerField(null=True, blank=True)
    tasks_in_flight = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("team settings")

    def __str__(self) -> str:
        return "Team settings"

    @classmethod
    def load(cls) -> "TeamSettings":
        return cls.objects.get_or_create(pk=1)[0]


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """A one-time link to join the team; only the token's hash is stored."""

    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    uses_team_account = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"  # stored in the audit log in English (audit.models)

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class QuotaAlert(models.Model):
    """Admins were told that this member passed 80 % of this quota in this period (once per period)."""

    class Kind(models.TextChoices):
        DAY = "day", _("Images per day")
        MONTH = "month", _("Images per month")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    period_start = models.DateField()
    used = models.PositiveIntegerField()
    limit = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "period_start"], name="quota_alert_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.used} of {self.limit} ({self.get_kind_display()})"
