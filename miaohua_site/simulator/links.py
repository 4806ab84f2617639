"""Signed, expiring file links in the style of the vendor's object store, and reading them back.

A link is `<path>?OSSAccessKeyId=SIMULATOR&Expires=<unix time>&Signature=<HMAC of path and expiry>`.
Since `Expires` is counted from now, the same picture gets a new link on a later poll, as the vendor's
do ("Image URLs can change between polls"). The file views answer 403 for a bad or expired signature, as an
object store does (MIAOHUA_SIMULATOR_EXPIRED_LINK_STATUS: 404 or 410, as some CDNs answer instead).
When a link comes back as a parameter (init_img, cn img, dataset images) only its path matters."""

import base64
import hashlib
import hmac
import re
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.urls import reverse

from miaohua_site.simulator import clock

LINK_SECONDS = 7 * 24 * 3600
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
UPLOAD_PATH = re.compile(rf"/files/upload/(?P<upload_id>{UUID})\.(?P<ext>\w+)$")
TASK_IMAGE_PATH = re.compile(
    rf"/files/task/(?P<task_id>{UUID})/(?P<index>\d+)-(?P<variant>large|middle|small)\.jpg$"
)


def _signature(path: str, expires: int) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{path}\n{expires}".encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed(request, viewname: str, **kwargs) -> str:
    path = reverse(f"simulator:{viewname}", kwargs=kwargs)
    expires = int(clock.now().timestamp()) + LINK_SECONDS
    query = urlencode(
        {"OSSAccessKeyId": "SIMULATOR", "Expires": expires, "Signature": _signature(path, expires)}
    )
    return request.build_absolute_uri(f"{path}?{query}")


def check(request) -> str | None:
    """Why this file request's signature does not hold, or None when it does."""
    try:
        expires = int(request.GET.get("Expires", ""))
    except ValueError:
        return "missing or malformed Expires"
    if not hmac.compare_digest(request.GET.get("Signature", ""), _signature(request.path, expires)):
        return "signature does not match"
    if expires < clock.now().timestamp():
        return "link expired"
    return None


def refusal_status() -> int:
    """The HTTP status of a refused (expired or badly signed) link."""
    return int(getattr(settings, "MIAOHUA_SIMULATOR_EXPIRED_LINK_STATUS", 403))


def parse(url, pattern: re.Pattern) -> dict | None:
    """The parts of an issued link's path, or None when `url` is not one of ours of that kind."""
    if not isinstance(url, str) or not url:
        return None
    match = pattern.search(urlsplit(url).path)
    return match.groupdict() if match else None
