from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "miaohua_site.workers"
    label = "workers"
    verbose_name = "Background workers"

    def ready(self) -> None:
        from miaohua_site.workers import engine

        engine.connect_to_worker_processes()
