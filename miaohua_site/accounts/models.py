from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from miaohua_site.accounts import crypto


class UpstreamAccount(models.Model):
    """A dashboard user's own Miaohua account, or the team's (``is_team``, no user; connected by an admin and used
    by the members an admin chose). Password and token are stored encrypted (Fernet)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upstream_account", null=True, blank=True
    )
    is_team = models.BooleanField(_("team account"), default=False)
    email = models.EmailField(_("Miaohua email"))
    password_encrypted = models.TextField(editable=False)
    token_encrypted = models.TextField(blank=True, editable=False)
    connected_at = models.DateTimeField(auto_now_add=True)
    token_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Content-filter strictness sent as task_result's sensitive_limit_value (0 = vendor default).
    sensitive_limit_value = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_team"], condition=models.Q(is_team=True), name="one_team_account"),
            models.CheckConstraint(
                condition=models.Q(is_team=True, user__isnull=True) | models.Q(is_team=False, user__isnull=False),
                name="team_account_has_no_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} (the team's)" if self.is_team else f"{self.email} (for {self.user})"

    def __repr__(self) -> str:  # never the secrets
        return f"<UpstreamAccount {self.pk} {self.email}>"

    @property
    def password(self) -> str:
        return crypto.decrypt(self.password_encrypted)

    @password.setter
    def password(self, value: str) -> None:
        self.password_encrypted = crypto.encrypt(value)

    @property
    def token(self) -> str | None:
        return crypto.decrypt(self.token_encrypted) if self.token_encrypted else None

    @token.setter
    def token(self, value: str | None) -> None:
        self.token_encrypted = crypto.encrypt(value) if value else ""


class Preferences(models.Model):
    """What a person chose for themselves in the dashboard: for now the language of every page and email."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    # "" = not chosen: the browser's Accept-Language decides.
    language = models.CharField(max_length=10, blank=True, choices=settings.LANGUAGES)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return f"{self.user}: {self.language or 'browser language'}"
