from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "miaohua_site.accounts"
    label = "accounts"
    verbose_name = "Upstream accounts"

    def ready(self):
        from miaohua_site.accounts import language  # noqa: F401 - its sign-in receiver
