"""History at 1,000,000 tasks.

- The trash: a partial index of the deleted tasks only (owner, most recently deleted first).
- PostgreSQL search: the prompt's tsvector stored in a generated column with its GIN index (replacing 0003's
  expression index), so that checking one row is a read rather than a to_tsvector(): the search reads the newest
  rows first and uses the index only for what they do not answer (generation/selectors.py, search_newest).
  SQLite keeps 0003's FTS5 table."""

from django.db import migrations, models

VECTOR = "to_tsvector('simple', coalesce(prompt, '') || ' ' || coalesce(neg_prompt, ''))"
POSTGRES = [
    f"ALTER TABLE generation_generationtask ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS ({VECTOR}) STORED",
    "CREATE INDEX IF NOT EXISTS generation_task_search_vector ON generation_generationtask USING GIN (search_vector)",
    "DROP INDEX IF EXISTS generation_task_search",
]
POSTGRES_BACK = [
    f"CREATE INDEX IF NOT EXISTS generation_task_search ON generation_generationtask USING GIN ({VECTOR})",
    "ALTER TABLE generation_generationtask DROP COLUMN IF EXISTS search_vector",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("generation", "0004_queue_index")]

    operations = [
        migrations.AddIndex(
            model_name="generationtask",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", False)),
                fields=["owner", "-deleted_at", "-id"],
                name="generation_task_trash",
            ),
        ),
        migrations.RunPython(_run(POSTGRES), _run(POSTGRES_BACK)),
    ]
