"""Full-text search over prompt and negative prompt: SQLite FTS5 (an external-content table kept by triggers)
by default, a GIN expression index on PostgreSQL. generation/selectors.py queries whichever exists."""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS generation_task_fts USING fts5("
    "prompt, neg_prompt, content='generation_generationtask', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER IF NOT EXISTS generation_task_fts_ai AFTER INSERT ON generation_generationtask BEGIN "
    "INSERT INTO generation_task_fts(rowid, prompt, neg_prompt) VALUES (new.id, new.prompt, new.neg_prompt); END",
    "CREATE TRIGGER IF NOT EXISTS generation_task_fts_ad AFTER DELETE ON generation_generationtask BEGIN "
    "INSERT INTO generation_task_fts(generation_task_fts, rowid, prompt, neg_prompt) "
    "VALUES ('delete', old.id, old.prompt, old.neg_prompt); END",
    "CREATE TRIGGER IF NOT EXISTS generation_task_fts_au AFTER UPDATE OF prompt, neg_prompt "
    "ON generation_generationtask BEGIN "
    "INSERT INTO generation_task_fts(generation_task_fts, rowid, prompt, neg_prompt) "
    "VALUES ('delete', old.id, old.prompt, old.neg_prompt); "
    "INSERT INTO generation_task_fts(rowid, prompt, neg_prompt) VALUES (new.id, new.prompt, new.neg_prompt); END",
    "INSERT INTO generation_task_fts(generation_task_fts) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS generation_task_fts_ai",
    "DROP TRIGGER IF EXISTS generation_task_fts_ad",
    "DROP TRIGGER IF EXISTS generation_task_fts_au",
    "DROP TABLE IF EXISTS generation_task_fts",
]
POSTGRES = [
    "CREATE INDEX IF NOT EXISTS generation_task_search ON generation_generationtask USING GIN "
    "(to_tsvector('simple', coalesce(prompt, '') || ' ' || coalesce(neg_prompt, '')))",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS generation_task_search"]


def _run(statements):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in statements.get(vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("generation", "0002_history_collections")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        ),
    ]
