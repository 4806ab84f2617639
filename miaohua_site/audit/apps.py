from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "miaohua_site.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self):
        from miaohua_site.audit import signals  # noqa: F401  (sign-in, sign-out, admin changes; the purge schedule)
