from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "miaohua_site.accounts"
    label = "accounts"
    verbose_name = "Upstream accounts"
