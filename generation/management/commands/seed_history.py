"""Seed a history for benchmarks and demos: N done tasks with 3 images each, spread over the past year.

    python manage.py seed_history --tasks 100000 --user bench

Images share one small thumbnail file (no per-image files are written), so seeding 300,000 images is quick."""

import random
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from generation.models import GeneratedImage, GenerationTask

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


class Command(BaseCommand):
    help = "Seed N done tasks (3 images each) for a user, for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, default=100_000)
        parser.add_argument("--images", type=int, default=3)
        parser.add_argument("--user", default="bench")
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, tasks, images, user, batch, seed, **options):
        rng = random.Random(seed)
        owner, _ = get_user_model().objects.get_or_create(username=user)
        thumb = "seed/thumb.webp"
        if not default_storage.exists(thumb):
            import io

            from PIL import Image

            buffer = io.BytesIO()
            Image.new("RGB", (384, 384), (90, 110, 160)).save(buffer, "WEBP")
            default_storage.save(thumb, ContentFile(buffer.getvalue()))
        now = timezone.now()
        made = 0
        while made < tasks:
            size = min(batch, tasks - made)
            rows = []
            for _ in range(size):
                prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))
                versionid, model_name = rng.choice(MODELS)
                rows.append(
                    GenerationTask(
                        owner=owner,
                        idempotency_key=uuid.UUID(int=rng.getrandbits(128)),
                        state=GenerationTask.State.DONE,
                        params={"prompt": prompt, "versionid": versionid, "n_images": images, "output_size": "960x960"},
                        prompt=prompt,
                        neg_prompt=rng.choice(["", "blurry", "text, watermark"]),
                        versionid=versionid,
                        model_name=model_name,
                        lora_versionid=rng.choice(LORAS),
                        cn_types=rng.choice(CNS),
                        kind=rng.choice(["txt2img"] * 4 + ["img2img"]),
                        n_images=images,
                        output_size="960x960",
                        select_seed=rng.randint(0, 9_999_999),
                        created_at=now - timedelta(seconds=rng.randint(0, 365 * 86400)),
                        is_favourite=rng.random() < 0.05,
                    )
                )
            with transaction.atomic():
                created = GenerationTask.objects.bulk_create(rows)
                GeneratedImage.objects.bulk_create(
                    [
                        GeneratedImage(
                            task=task,
                            save_index=i,
                            file=thumb,
                            thumbnail=thumb,
                            preview=thumb,
                            width=960,
                            height=960,
                            size_bytes=1_200_000,
                            seed=task.select_seed,
                            mirror_state=GeneratedImage.MirrorState.STORED,
                        )
                        for task in created
                        for i in range(images)
                    ]
                )
            made += size
            self.stdout.write(f"{made} tasks", ending="\r")
        self.stdout.write(self.style.SUCCESS(f"Seeded {made} tasks with {made * images} images for {owner}."))
