from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "miaohua_site.accounts"
    label = "accounts"
    verbose_name = "Upstream accounts"

    def ready(self):
        from miaohua_site import i18n
        from miaohua_site.accounts import language  # noqa: F401 - its sign-in receiver
        from miaohua_site.upstream import errors

        for template in errors.TEMPLATES:  # the vendor client's messages with values, shown translated when stored
            i18n.stored(template)
