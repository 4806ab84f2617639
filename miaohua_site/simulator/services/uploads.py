"""upload_img / upload_imgs: the vendor FAQ's limits, checked on the picture itself, not only its name."""

import io
import os
from dataclasses import dataclass

from django.conf import settings
from PIL import Image

from miaohua_site.simulator import db, links, render
from miaohua_site.simulator.errors import ApiError, illegal
from miaohua_site.simulator.models import SimAccount, SimTask, SimUpload

ALLOWED_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jfif", ".pjpeg", ".pjp", ".webp")
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "WEBP": "image/webp"}
MAX_BYTES = 5 * 1024 * 1024
MIN_SIDE, MAX_SIDE = 256, 6144


@dataclass
class Checked:
    filename: str
    ext: str
    image_format: str
    data: bytes
    width: int
    height: int
    colour: str


def upload_check(upload_file, label: str) -> Checked:
    """Refuse (129, or 704 for the sensitive marker) a file the vendor would not take."""
    filename = os.path.basename(upload_file.name or "")
    where = f"{label} ({filename!r})"
    marker = settings.MIAOHUA_SIMULATOR_SENSITIVE_MARKER
    if marker and marker.lower() in filename.lower():
        raise ApiError(704, f"{where}: image is sensitive, use another")
    ext = os.path.splitext(filename)[1].lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise illegal(f"{where}: file type {ext or '(none)'!r} is not accepted; use {' '.join(ALLOWED_EXTENSIONS)}")
    if upload_file.size > MAX_BYTES:
        raise illegal(f"{where}: {upload_file.size} bytes is over the 5 MB limit")
    data = upload_file.read()
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image_format, (width, height) = image.format, image.size
            colour = render.dominant_colour(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise illegal(f"{where}: not a decodable image ({exc})") from exc
    if image_format not in CONTENT_TYPES:
        raise illegal(f"{where}: {image_format} pictures are not accepted; send PNG, JPEG or WebP")
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise illegal(f"{where}: {width}x{height} is outside 256x256 to 6144x6144")
    return Checked(filename, ext, image_format, data, width, height, colour)


def uploads_store(*, account: SimAccount, files: list) -> list[SimUpload]:
    """Check every file first, then store them all (one refusal stores none)."""
    if not files:
        raise illegal("init_img: no file sent (multipart, key 'init_img')")
    checked = [upload_check(f, f"init_img[{i}]") for i, f in enumerate(files)]
    with db.atomic():
        return [
            SimUpload.objects.create(
                owner=account,
                filename=c.filename,
                ext=c.ext,
                image_format=c.image_format,
                content_type=CONTENT_TYPES[c.image_format],
                data=c.data,
                size=len(c.data),
                width=c.width,
                height=c.height,
                colour=c.colour,
            )
            for c in checked
        ]


def upload_url(request, upload: SimUpload) -> str:
    return links.signed(request, "upload_file", upload_id=upload.id, ext=upload.ext.lstrip("."))


def upload_from_url(account: SimAccount, url) -> SimUpload | None:
    """The upload behind a link this simulator issued to `account`, else None."""
    parts = links.parse(url, links.UPLOAD_PATH)
    if parts is None:
        return None
    return SimUpload.objects.filter(id=parts["upload_id"], owner=account).first()


def upload_image(upload: SimUpload) -> Image.Image:
    return Image.open(io.BytesIO(bytes(upload.data)))


def task_image_from_url(account: SimAccount, url) -> tuple[SimTask, int] | None:
    """(task, index) behind a result link of one of `account`'s tasks, else None."""
    parts = links.parse(url, links.TASK_IMAGE_PATH)
    if parts is None:
        return None
    task = SimTask.objects.filter(id=parts["task_id"], owner=account).first()
    index = int(parts["index"])
    if task is None or index >= task.n_images:
        return None
    return task, index
