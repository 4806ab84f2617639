"""History at 1,000,000 tasks.

- The trash: a partial index of the deleted tasks only (owner, most recently deleted first)."""

from django.db import migrations, models


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
    ]
