"""Seed a history for benchmarks and demos: N done tasks with 3 images each, spread over the past year.

Run it on a database nobody else writes to at the same time (it gives the new rows their ids itself).

    python manage.py seed_history --tasks 100000 --user bench
    python manage.py seed_history --tasks 1000000 --user bench --teammate mate --collections 8 --trashed 0.015

Images share one small thumbnail file (no per-image files are written), so seeding 300,000 images is quick.
With ``--teammate`` a share of the tasks (``--teammate-share``) belongs to a teammate who shares with the team;
``--collections K`` gives the user K collections (the first with ``--collection-items`` images, the others
fewer, every other one shared) and the teammate two shared collections and a private one, mixing both members'
images; ``--trashed F`` moves a fraction F of the tasks to the trash, three quarters of them deleted within the
30 days the trash keeps them, the rest earlier (waiting for the purge); ``--tags F`` tags a fraction F of the tasks
with one to three of TAGS (the first ones most often) and saves two searches by tag ("Portraits" of the user's
history, and with a teammate their shared "Team landscapes" of the gallery)."""

import io
import random
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from generation.models import GeneratedImage, GenerationTask
from library.models import Collection, CollectionItem, MemberSettings, SavedSearch, Tag, TaskTag
from library.selectors import TRASH_DAYS

WORDS = (
    "lighthouse dusk fox forest neon city portrait mountain river castle robot garden ocean desert "
    "winter dragon cat watercolor cyberpunk temple bridge sunset storm meadow library train violin"
).split()
MODELS = [
    ("sgl_artist_v0.3.5_0925", "Artist v0.3.5"),
    ("sgl_artist_turbo_v1", "Artist Turbo"),
    ("sdxl_1.0", "SDXL 1.0"),
    ("anything_v3", "Anything V3"),
]
LORAS = ["", "", "", "lora_ink", "lora_pixel", "lora_film"]
CNS = ["", "", "", "canny", "openpose", "tile", "canny,tile"]
YEAR = 365 * 86400
TAGS = (
    "portrait landscape favourites client-a client-b wip final concept moodboard night "
    "series-1 series-2 print social hero banner sketch review archive test"
).split()


class Command(BaseCommand):
    help = "Seed N done tasks (3 images each) for a user, for benchmarks; optionally a teammate, collections, trash."

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, default=100_000, help="tasks in all (the teammate's included)")
        parser.add_argument("--images", type=int, default=3)
        parser.add_argument("--user", default="bench")
        parser.add_argument("--teammate", default="", help="a teammate (sharing) who owns part of the tasks")
        parser.add_argument("--teammate-share", type=float, default=0.05, help="the teammate's fraction of tasks")
        parser.add_argument("--collections", type=int, default=0, help="collections of the user")
        parser.add_argument("--collection-items", type=int, default=300, help="images in the largest collection")
        parser.add_argument("--trashed", type=float, default=0.0, help="fraction of tasks in the trash")
        parser.add_argument("--tags", type=float, default=0.0, help="fraction of tasks with tags (1 to 3 each)")
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, tasks, images, user, teammate, teammate_share, batch, seed, **options):
        rng = random.Random(seed)
        users = get_user_model().objects
        owner, _ = users.get_or_create(username=user)
        mate = None
        if teammate:
            mate, _ = users.get_or_create(username=teammate)
            MemberSettings.objects.update_or_create(user=mate, defaults={"share_with_team": True})
        thumb = _thumbnail()
        now = timezone.now()
        if connection.vendor == "sqlite":  # this connection only: the indexes of 1,000,000 rows stay in memory
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -1000000")
        task_rows, image_rows = _Rows(GenerationTask), _Rows(GeneratedImage)
        made, ids = 0, {owner.pk: [], **({mate.pk: []} if mate else {})}
        while made < tasks:
            size = min(batch, tasks - made)
            with transaction.atomic():
                first_task, first_image = task_rows.next_id(), image_rows.next_id()
                rows, pictures = [], []
                for n in range(size):
                    member = mate if mate and rng.random() < teammate_share else owner
                    task = _task(rng, member, now, images, options["trashed"])
                    rows.append(task_rows.row(id=first_task + n, **task))
                    ids[member.pk].append(first_task + n)
                    pictures += [
                        image_rows.row(
                            id=first_image + n * images + i,
                            task_id=first_task + n,
                            save_index=i,
                            file=thumb,
                            thumbnail=thumb,
                            preview=thumb,
                            width=960,
                            height=960,
                            size_bytes=1_200_000,
                            seed=task["select_seed"],
                            mirror_state=GeneratedImage.MirrorState.STORED.value,
                            created_at=task["finished_at"],
                        )
                        for i in range(images)
                    ]
                task_rows.insert(rows)
                image_rows.insert(pictures)
            made += size
            self.stdout.write(f"{made} tasks", ending="\r")
        _Rows.reset_sequences(GenerationTask, GeneratedImage)
        self.stdout.write(self.style.SUCCESS(f"Seeded {made} tasks with {made * images} images for {owner}."))
        if options["collections"]:
            boards = _collections(rng, owner, mate, ids, options["collections"], options["collection_items"], now)
            self.stdout.write(self.style.SUCCESS(f"Seeded {boards} collections."))
        if options["tags"]:
            uses = _tags(rng, owner, mate, ids, options["tags"], now, batch)
            self.stdout.write(self.style.SUCCESS(f"Seeded {uses} tags on tasks and 2 saved searches."))


class _Rows:
    """Plain multi-row INSERTs with the ids given: bulk_create builds and checks a model instance per row, which
    made seeding 4,000,000 rows about five times slower. Columns not given get the field's default."""

    def __init__(self, model):
        self.model = model
        self.fields = model._meta.concrete_fields
        self.defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in self.fields}
        self.uuid = {f.attname for f in self.fields if f.get_internal_type() == "UUIDField"}
        self.json = {f.attname for f in self.fields if f.get_internal_type() == "JSONField"}
        self.moments = {f.attname for f in self.fields if f.get_internal_type() == "DateTimeField"}
        quote = connection.ops.quote_name
        table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in self.fields)
        self.insert_sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(self.fields))})"
        self.copy_sql = f"COPY {table} ({columns}) FROM STDIN"

    def next_id(self) -> int:
        return (self.model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1

    def row(self, **values) -> tuple:
        ops = connection.ops
        for name, value in values.items():
            if value is None:
                continue
            if name in self.moments:
                values[name] = ops.adapt_datetimefield_value(value)
            elif name in self.json:
                values[name] = ops.adapt_json_value(value, None)
            elif name in self.uuid:
                values[name] = value.hex if connection.vendor != "postgresql" else value
        return tuple(values[f.attname] if f.attname in values else self.defaults[f.attname] for f in self.fields)

    def insert(self, rows: list[tuple]) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # COPY: one stream instead of a round trip per row
                with cursor.cursor.copy(self.copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self.insert_sql, rows)

    @staticmethod
    def reset_sequences(*models) -> None:
        """PostgreSQL's id sequences do not see ids given explicitly (SQLite's AUTOINCREMENT does)."""
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)


def _thumbnail() -> str:
    thumb = "seed/thumb.webp"
    if not default_storage.exists(thumb):
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (384, 384), (90, 110, 160)).save(buffer, "WEBP")
        default_storage.save(thumb, ContentFile(buffer.getvalue()))
    return thumb


def _task(rng: random.Random, owner, now, images: int, trashed: float) -> dict:
    prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))
    versionid, model_name = rng.choice(MODELS)
    created_at = now - timedelta(seconds=rng.randint(0, YEAR))
    deleted_at = None
    if trashed and rng.random() < trashed:
        # Three quarters deleted within the trash's 30 days, the others earlier (the purge has not run yet).
        window = TRASH_DAYS * 86400
        ago = rng.randint(0, window) if rng.random() < 0.75 else rng.randint(window + 3600, 3 * window)
        deleted_at = max(now - timedelta(seconds=ago), created_at + timedelta(seconds=1))
    return {
        "owner_id": owner.pk,
        "idempotency_key": uuid.UUID(int=rng.getrandbits(128)),
        "state": GenerationTask.State.DONE.value,
        "params": {"prompt": prompt, "versionid": versionid, "n_images": images, "output_size": "960x960"},
        "prompt": prompt,
        "neg_prompt": rng.choice(["", "blurry", "text, watermark"]),
        "versionid": versionid,
        "model_name": model_name,
        "lora_versionid": rng.choice(LORAS),
        "cn_types": rng.choice(CNS),
        "kind": rng.choice(["txt2img"] * 4 + ["img2img"]),
        "n_images": images,
        "output_size": "960x960",
        "select_seed": rng.randint(0, 9_999_999),
        "created_at": created_at,
        "finished_at": created_at + timedelta(seconds=rng.randint(8, 40)),
        "deleted_at": deleted_at,
        "is_favourite": rng.random() < 0.05,
    }


def _collections(rng: random.Random, owner, mate, ids: dict, count: int, largest: int, now) -> int:
    """``count`` boards of ``owner`` (the first holds ``largest`` images), and, with a teammate, two shared boards
    and a private one of theirs. Images are drawn from random tasks of both members, the trashed ones too."""

    def images_of(n: int) -> list[int]:
        pool = ids[owner.pk] + (ids[mate.pk] if mate else [])
        task_ids = rng.sample(pool, min(len(pool), n))
        chosen = GeneratedImage.objects.filter(task_id__in=task_ids, save_index=0).values_list("pk", flat=True)
        return list(chosen)

    def board(member, name: str, n: int, *, shared: bool) -> None:
        collection, _ = Collection.objects.get_or_create(owner=member, name=name, defaults={"is_shared": shared})
        picked = images_of(n)
        start = now - timedelta(days=180)
        CollectionItem.objects.bulk_create(
            [
                CollectionItem(collection=collection, image_id=pk, added_at=start + timedelta(minutes=i * 7))
                for i, pk in enumerate(picked)
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        if picked and rng.random() < 0.5:
            Collection.objects.filter(pk=collection.pk).update(cover_id=rng.choice(picked))

    made = 0
    with transaction.atomic():
        for n in range(count):
            size = largest if n == 0 else rng.randint(max(1, largest // 20), largest // 2 or 1)
            board(owner, f"Board {n + 1}", size, shared=n % 2 == 1)
            made += 1
        if mate is not None:
            for name, shared in (("Team picks", True), ("Moodboard", True), ("Drafts", False)):
                board(mate, name, max(1, largest // 2), shared=shared)
                made += 1
    return made


def _tags(rng: random.Random, owner, mate, ids: dict, fraction: float, now, batch: int) -> int:
    """A fraction of every member's tasks tagged with one to three TAGS (skewed: the first tags are the most used),
    written as plain INSERTs like the tasks; and two saved searches by tag."""
    tags = {}
    for name in TAGS:
        tags[name], _ = Tag.objects.get_or_create(key=Tag.key_of(name), defaults={"name": name})
    rows, made = _Rows(TaskTag), 0
    weights = [1 / (n + 1) for n in range(len(TAGS))]
    pending = []

    def flush():
        nonlocal pending
        with transaction.atomic():
            first = rows.next_id()
            rows.insert([rows.row(id=first + n, **values) for n, values in enumerate(pending)])
        pending = []

    for member_id, task_ids in ids.items():
        for task_id in task_ids:
            if rng.random() >= fraction:
                continue
            for name in set(rng.choices(TAGS, weights=weights, k=rng.randint(1, 3))):
                pending.append({"task_id": task_id, "tag_id": tags[name].pk, "added_by_id": member_id, "added_at": now})
                made += 1
            if len(pending) >= batch:
                flush()
    if pending:
        flush()
    _Rows.reset_sequences(TaskTag)
    SavedSearch.objects.get_or_create(owner=owner, name="Portraits", defaults={"query": "tag=portrait"})
    if mate is not None:
        SavedSearch.objects.get_or_create(
            owner=mate,
            name="Team landscapes",
            defaults={"query": "tag=landscape", "scope": SavedSearch.Scope.GALLERY, "is_shared": True},
        )
    return made
