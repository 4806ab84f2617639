# Usage (team/usage.py): everyone's tasks of a range, grouped by period and member, model or LoRA, from the index.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0007_image_stored_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="generationtask",
            index=models.Index(
                fields=["created_at", "owner", "state", "n_images", "model_name", "lora_versionid"],
                name="generation_task_usage",
            ),
        ),
    ]
