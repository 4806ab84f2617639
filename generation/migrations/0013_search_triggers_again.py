"""SQLite remade the task table in 0012 (new columns with a foreign key), which dropped the full-text search
triggers of 0003 (a table's triggers go with it): history search found nothing new. Create them again and
rebuild the index; a no-op where they exist, and on PostgreSQL (its index is on an expression)."""

import importlib

from django.db import migrations

search = importlib.import_module("generation.migrations.0003_task_search")


def recreate(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in search.SQLITE:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("generation", "0012_workspace")]

    operations = [migrations.RunPython(recreate, migrations.RunPython.noop)]
