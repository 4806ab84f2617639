"""The library app (issue #12). MemberSettings, Collection and CollectionItem move here from generation with
their tables as they are (state only: generation/migrations/0009 let go of them); their content types follow, so
the admin's history and permissions of them stay theirs. Tags and saved searches are new tables."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


MOVED = ["collection", "collectionitem", "membersettings"]


def content_types_follow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label="library", model=model).exists():
            ContentType.objects.filter(app_label="generation", model=model).update(app_label="library")


def content_types_go_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="library", model__in=MOVED).update(app_label="generation")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('generation', '0010_taskinput'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Collection',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('description', models.TextField(blank=True, max_length=2000)),
                        ('is_shared', models.BooleanField(default=False, verbose_name='shared with the team')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('cover', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='generation.generatedimage')),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='collections', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'generation_collection',
                        'ordering': ['-updated_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='CollectionItem',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('added_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('collection', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='library.collection')),
                        ('image', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='collection_items', to='generation.generatedimage')),
                    ],
                    options={
                        'db_table': 'generation_collectionitem',
                        'ordering': ['-added_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='MemberSettings',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('share_with_team', models.BooleanField(default=True, help_text='Teammates see your tasks in the team gallery. Admins always see everything.', verbose_name='Share my generations with the team')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='studio_settings', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'generation_membersettings',
                    },
                ),
                migrations.AddConstraint(
                    model_name='collection',
                    constraint=models.UniqueConstraint(fields=('owner', 'name'), name='collection_unique_name_per_owner'),
                ),
                migrations.AddIndex(
                    model_name='collectionitem',
                    index=models.Index(fields=['collection', '-added_at', '-id'], name='collection_item_recent'),
                ),
                migrations.AddConstraint(
                    model_name='collectionitem',
                    constraint=models.UniqueConstraint(fields=('collection', 'image'), name='collection_item_once'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_follow, content_types_go_back),
        migrations.CreateModel(
            name='Tag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=50, verbose_name='tag')),
                ('key', models.CharField(max_length=50, unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['key'],
            },
        ),
        migrations.CreateModel(
            name='SavedSearch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, verbose_name='name')),
                ('scope', models.CharField(choices=[('history', 'My history'), ('gallery', 'Team gallery')], default='history', max_length=8)),
                ('query', models.CharField(blank=True, max_length=2000)),
                ('is_shared', models.BooleanField(default=False, verbose_name='shared with the team')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='saved_searches', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name', 'id'],
            },
        ),
        migrations.CreateModel(
            name='TaskTag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('added_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('added_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('tag', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='task_tags', to='library.tag')),
                ('task', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='task_tags', to='generation.generationtask')),
            ],
            options={
                'ordering': ['tag__key'],
            },
        ),
        migrations.AddField(
            model_name='tag',
            name='tasks',
            field=models.ManyToManyField(related_name='tags', through='library.TaskTag', to='generation.generationtask'),
        ),
        migrations.AddConstraint(
            model_name='savedsearch',
            constraint=models.UniqueConstraint(fields=('owner', 'name'), name='saved_search_unique_name_per_owner'),
        ),
        migrations.AddIndex(
            model_name='tasktag',
            index=models.Index(fields=['tag', 'task'], name='task_tag_by_tag'),
        ),
        migrations.AddConstraint(
            model_name='tasktag',
            constraint=models.UniqueConstraint(fields=('task', 'tag'), name='task_tag_once'),
        ),
    ]
