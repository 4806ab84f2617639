"""Which database the simulator keeps its state in: ours by default (one file, nothing to set up), or one of its
own when MIAOHUA_SIMULATOR_DATABASE_URL is set (the `simulator` alias), as the real vendor's state is not ours:
the benchmarks use that, so the vendor's writes do not queue with ours on SQLite's single writer."""

from django.conf import settings
from django.db import transaction

ALIAS = "simulator"


def alias() -> str:
    return ALIAS if ALIAS in settings.DATABASES else "default"


def atomic():
    """A transaction on the simulator's database."""
    return transaction.atomic(using=alias())


class SimulatorRouter:
    """The simulator's tables in its own database; everything else in ours."""

    def db_for_read(self, model, **hints):
        return ALIAS if model._meta.app_label == "simulator" else None

    db_for_write = db_for_read

    def allow_relation(self, first, second, **hints):
        return (first._meta.app_label == "simulator") == (second._meta.app_label == "simulator")

    def allow_migrate(self, db, app_label, **hints):
        if db == ALIAS:
            return app_label == "simulator"
        return app_label != "simulator"
