from django.apps import AppConfig


class TeamConfig(AppConfig):
    name = "team"
    verbose_name = "Team"

    def ready(self):
        from team import signals  # noqa: F401 - connects the receivers
