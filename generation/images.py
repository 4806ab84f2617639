"""Bringing the vendor's images home: download (allow-listed hosts, size cap, timeouts, streamed to a
temporary file), measure, store in Django's default storage, and make a small WebP thumbnail.

The vendor's links are signed and expire (digest: "What public clients ... add"), so this runs as soon as a
task is done; a failed download is retried later with fresh links from ``task_result``."""

import io
import logging
import tempfile
import time
from dataclasses import dataclass
from typing import IO
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.utils.translation import gettext_noop
from PIL import Image, UnidentifiedImageError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from miaohua_site.i18n import english, stored

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 384
PREVIEW_ABOVE = 1536  # an original larger than this (on its long side) is shown in the viewer by a preview
CHUNK = 64 * 1024
MAX_REDIRECTS = 3
FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}

# Why a download failed: stored in English on the image (mirror_error), shown in the reader's language.
NOT_A_WEB_ADDRESS = gettext_noop("The image link is not a web address.")
HOST_NOT_ALLOWED = stored(gettext_noop("Images are not downloaded from {host} (not an allowed image host)."))
FETCH_FAILED = stored(gettext_noop("The image could not be fetched ({error})."))
TOO_MANY_REDIRECTS = gettext_noop("The image link redirects too often.")
LINK_EXPIRED = gettext_noop("The image link was refused (HTTP 403); it has probably expired.")
HTTP_FAILED = stored(gettext_noop("The image could not be fetched (HTTP {status})."))
TOO_LARGE = stored(gettext_noop("The image is larger than {megabytes} MB."))
TOO_SLOW = stored(gettext_noop("The image took longer than {seconds} s to download."))
BROKE_OFF = stored(gettext_noop("The image download broke off ({error})."))
NOT_AN_IMAGE = stored(gettext_noop("The downloaded file is not a usable image ({error})."))
WRONG_FORMAT = stored(gettext_noop("The downloaded file is a {format} image, not JPEG, PNG or WebP."))


class DownloadError(Exception):
    """A download that did not give us an image; ``str(error)`` is in plain words for the image's card.
    ``expired`` when the link was refused as signed links are once they expire (403, 404, 410)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def expired(self) -> bool:
        return self.status in (403, 404, 410)


@dataclass
class Download:
    """A downloaded image in a temporary file (closed, and so deleted, by ``close``)."""

    file: IO[bytes]
    size: int
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return FORMATS[self.format]

    def close(self) -> None:
        self.file.close()


def download_session() -> requests.Session:
    """A session for image downloads: a GET whose connection broke before any answer (a kept-alive connection
    the server had just closed, a refused connect) is tried again at once, once; nothing else is."""
    session = requests.Session()
    retry = Retry(total=2, connect=1, read=1, status=0, other=0, redirect=0, allowed_methods=frozenset({"GET"}))
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def allowed_hosts() -> set[str]:
    """The configured upstream's host and ``MIAOHUA_IMAGE_HOSTS``."""
    hosts = {host.lower() for host in settings.MIAOHUA_IMAGE_HOSTS if host}
    api_host = urlsplit(settings.MIAOHUA_API_BASE or "").hostname
    if api_host:
        hosts.add(api_host.lower())
    return hosts


def check_url(url: str) -> None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError(english(NOT_A_WEB_ADDRESS))
    if parts.hostname.lower() not in allowed_hosts():
        raise DownloadError(english(HOST_NOT_ALLOWED, host=parts.hostname))


def download(url: str, *, session: requests.Session | None = None) -> Download:
    """Fetch ``url`` into a temporary file, refusing other hosts (also after a redirect), answers over
    ``MIAOHUA_IMAGE_MAX_BYTES`` and anything that is not a JPEG, PNG or WebP image."""
    max_bytes = int(settings.MIAOHUA_IMAGE_MAX_BYTES)
    total_seconds = float(settings.MIAOHUA_IMAGE_TIMEOUT_SECONDS)
    timeout = (float(settings.MIAOHUA_CONNECT_TIMEOUT), float(settings.MIAOHUA_READ_TIMEOUT))
    session = session or download_session()
    deadline = time.monotonic() + total_seconds
    target = url
    for _ in range(MAX_REDIRECTS + 1):
        check_url(target)
        try:
            response = session.get(target, stream=True, timeout=timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise DownloadError(english(FETCH_FAILED, error=type(exc).__name__)) from None
        if response.is_redirect:
            target = urljoin(target, response.headers.get("Location", ""))
            response.close()
            continue
        break
    else:
        raise DownloadError(english(TOO_MANY_REDIRECTS))
    with response:
        if response.status_code == 403:
            raise DownloadError(english(LINK_EXPIRED), status=403)
        if response.status_code != 200:
            raise DownloadError(english(HTTP_FAILED, status=response.status_code), status=response.status_code)
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise DownloadError(english(TOO_LARGE, megabytes=max_bytes // (1024 * 1024)))
        spool = tempfile.TemporaryFile()
        try:
            size = 0
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadError(english(TOO_LARGE, megabytes=max_bytes // (1024 * 1024)))
                if time.monotonic() > deadline:
                    raise DownloadError(english(TOO_SLOW, seconds=f"{total_seconds:g}"))
                spool.write(chunk)
        except requests.RequestException as exc:
            spool.close()
            raise DownloadError(english(BROKE_OFF, error=type(exc).__name__)) from None
        except DownloadError:
            spool.close()
            raise
    spool.seek(0)
    try:
        format_, width, height = probe(spool)
    except DownloadError:
        spool.close()
        raise
    spool.seek(0)
    return Download(file=spool, size=size, format=format_, width=width, height=height)


def probe(file: IO[bytes]) -> tuple[str, int, int]:
    """Format and size from the header only (Pillow decodes pixels lazily)."""
    try:
        with Image.open(file) as image:
            format_, (width, height) = image.format, image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as exc:
        raise DownloadError(english(NOT_AN_IMAGE, error=type(exc).__name__)) from None
    if format_ not in FORMATS:
        raise DownloadError(english(WRONG_FORMAT, format=format_))
    return format_, width, height


def thumbnail(file: IO[bytes], *, size: int = THUMBNAIL_SIZE) -> bytes:
    """A WebP of at most ``size`` px on the long side. A JPEG is decoded at 1/2–1/8 scale (``draft``) and
    big images are first shrunk with the fast ``reduce`` (``reducing_gap``): a 6144² JPEG is never whole."""
    file.seek(0)
    with Image.open(file) as image:
        image.draft("RGB", (size, size))
        image.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "transparency" in image.info or image.mode in ("LA", "PA") else "RGB")
        out = io.BytesIO()
        image.save(out, "WEBP", quality=82, method=2)  # half the time of the default 4, files 2 % larger
    file.seek(0)
    return out.getvalue()


def vendor_ready_jpeg(handle, *, max_bytes: int) -> IO[bytes]:
    """A JPEG within the vendor's upload limit (digest, "Limits (vendor FAQ)"), for one of our pictures that is
    too big or of another format: lower quality first, then smaller, in a temporary file."""
    with Image.open(handle) as picture:
        picture = picture.convert("RGB")
        out = tempfile.TemporaryFile()
        for quality, scale in ((92, 1.0), (85, 1.0), (85, 0.75), (80, 0.5)):
            out.seek(0)
            out.truncate()
            frame = picture
            if scale < 1.0:
                frame = picture.resize((max(1, int(picture.width * scale)), max(1, int(picture.height * scale))))
            frame.save(out, "JPEG", quality=quality)
            if out.tell() <= max_bytes:
                break
    out.seek(0)
    return out


@dataclass
class Stored:
    file: str
    preview: str
    thumbnail: str
    width: int
    height: int
    size_bytes: int


def store(image, *, large_url: str, middle_url: str, session: requests.Session | None = None) -> Stored:
    """Download ``large`` of a ``GeneratedImage`` — and ``middle`` for a preview, only when ``large`` is bigger
    than a viewer shows (over PREVIEW_ABOVE px: below that the original is its own preview, and a second
    download would only cost time) — save them and a thumbnail to its storage, and say what was saved. The
    model row is not written: the caller does that."""
    session = session or download_session()
    large = download(large_url, session=session)
    middle = None
    try:
        if middle_url and middle_url != large_url and max(large.width, large.height) > PREVIEW_ABOVE:
            try:
                middle = download(middle_url, session=session)
            except DownloadError as exc:  # a missing preview is not worth failing the image for
                logger.info("generation: no preview for %s: %s", image, exc)
        # The thumbnail comes from the preview when it is big enough: far fewer pixels to decode.
        source = large
        if middle is not None and max(middle.width, middle.height) >= THUMBNAIL_SIZE:
            source = middle
        thumb = thumbnail(source.file)
        large.file.seek(0)
        file_name = image.file.field.generate_filename(image, f"large{large.extension}")
        file_name = image.file.storage.save(file_name, File(large.file, name=file_name))
        preview_name = ""
        if middle is not None:
            middle.file.seek(0)
            preview_name = image.preview.field.generate_filename(image, f"middle{middle.extension}")
            preview_name = image.preview.storage.save(preview_name, File(middle.file, name=preview_name))
        thumb_name = image.thumbnail.field.generate_filename(image, "thumb.webp")
        thumb_name = image.thumbnail.storage.save(thumb_name, ContentFile(thumb, name=thumb_name))
        return Stored(
            file=file_name,
            preview=preview_name,
            thumbnail=thumb_name,
            width=large.width,
            height=large.height,
            size_bytes=large.size,
        )
    finally:
        large.close()
        if middle is not None:
            middle.close()
