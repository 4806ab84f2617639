"""MemberSettings, Collection and CollectionItem now belong to the library app (issue #12). Only Django's idea of
where they live changes: their tables stay as they are (library/migrations/0001_initial.py adopts them)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0008_usage_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="CollectionItem"),
                migrations.DeleteModel(name="Collection"),
                migrations.DeleteModel(name="MemberSettings"),
            ],
            database_operations=[],
        ),
    ]
