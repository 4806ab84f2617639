from django.conf import settings
from django.db import models

from miaohua_site.accounts import crypto


class UpstreamAccount(models.Model):
    """A dashboard user's own Miaohua account. Password and token are stored encrypted (Fernet)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upstream_account")
    email = models.EmailField("Miaohua email")
    password_encrypted = models.TextField(editable=False)
    token_encrypted = models.TextField(blank=True, editable=False)
    connected_at = models.DateTimeField(auto_now_add=True)
    token_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Content-filter strictness sent as task_result's sensitive_limit_value (0 = vendor default).
    sensitive_limit_value = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.email} (for {self.user})"

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
