"""Rows for the library tests (collections, ZIP, export, compare): finished tasks with small real image files
in storage, made directly so a test can set dates, owners and parameters as it needs."""

import io
from itertools import count

from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from generation.models import GeneratedImage, GenerationTask
from library.models import MemberSettings

_seeds = count(1000)
COLOURS = ["teal", "coral", "gold", "navy", "plum", "olive"]


def picture(colour: str = "teal", fmt: str = "PNG", size=(48, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


def make_task(owner, *, prompt: str = "a lighthouse at dusk", n_images: int = 2, **fields) -> GenerationTask:
    """A finished task of ``owner`` with ``n_images`` stored images (original PNG and WebP thumbnail)."""
    seed = fields.pop("select_seed", next(_seeds))
    versionid = fields.pop("versionid", "sgl_artist_v0.3.5_0925")
    params = {
        "prompt": prompt,
        "neg_prompt": fields.get("neg_prompt", ""),
        "versionid": versionid,
        "n_images": n_images,
        "output_size": fields.get("output_size", "640x640"),
        "select_seed": seed,
        "scale": fields.pop("scale", 7),
        "ddim_steps": 20,
    }
    fields.setdefault("output_size", "640x640")
    fields.setdefault("model_name", "Artist v0.3.5")
    fields.setdefault("state", GenerationTask.State.DONE)
    fields.setdefault("finished_at", timezone.now())
    task = GenerationTask.objects.create(
        owner=owner,
        params=params,
        params_sent=params,
        prompt=prompt,
        versionid=versionid,
        n_images=n_images,
        select_seed=seed,
        **fields,
    )
    for index in range(n_images):
        colour = COLOURS[(task.pk + index) % len(COLOURS)]
        image = GeneratedImage(
            task=task,
            save_index=index,
            width=48,
            height=48,
            seed=seed,
            mirror_state=GeneratedImage.MirrorState.STORED,
        )
        image.file.save("large.png", ContentFile(picture(colour)), save=False)
        image.thumbnail.save("thumb.webp", ContentFile(picture(colour, "WEBP")), save=False)
        image.save()
    return task


def set_sharing(user, share: bool) -> None:
    MemberSettings.objects.update_or_create(user=user, defaults={"share_with_team": share})


def is_login_page(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))
