from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Datasets and training"

    def ready(self) -> None:
        from training import services, signals  # noqa: F401  (the engine's sources; the schedule after migrate)
