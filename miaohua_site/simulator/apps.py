from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    name = "miaohua_site.simulator"
    label = "simulator"
    verbose_name = "Miaohua simulator"
