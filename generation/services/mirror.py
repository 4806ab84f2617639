"""Bringing images home (the engine's download lane): every image of a done task is downloaded as soon as the
poller records it, one image per work item, several at once; a link the vendor refuses as expired (403, 404,
410) is refreshed with ``task_result`` — once for all the task's images, however many downloads were refused
together — and tried again at once; a failed download is retried later with fresh links,
backing off (1, 2, 4 … 30 minutes, GENERATION_MIRROR_MAX_ATTEMPTS in all)."""

import logging
import threading
import time
import uuid
from datetime import timedelta
from functools import partial

import requests
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from generation import images as image_files
from generation.models import GeneratedImage, GenerationTask
from miaohua_site.accounts.services import client_for_account
from miaohua_site.i18n import english
from miaohua_site.upstream.errors import UpstreamError
from miaohua_site.workers import engine

logger = logging.getLogger(__name__)
NOT_STORED = gettext_noop("The image could not be stored.")  # stored in English, shown translated

MirrorState = GeneratedImage.MirrorState
RETRY_CHECK_SECONDS = 5.0
REFRESHED_RECENTLY_SECONDS = 10.0  # links a refusal's task_result gave are what the task's other downloads use

_local = threading.local()
# (task id, vendor task id) → (its lock, [when its links were last refreshed])
_refreshes: dict[tuple[int, str], tuple[threading.Lock, list[float]]] = {}
_refreshes_guard = threading.Lock()


def _session() -> requests.Session:
    """One HTTP session per download thread (connections are reused between images)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = image_files.download_session()
    return session


CLAIMABLE = Q(mirror_state=MirrorState.WAITING, mirror_attempted_at__isnull=True) | Q(mirror_state=MirrorState.FAILED)


def images_claim(image_ids, *, token: str) -> list[int]:
    """Take images to download — waiting and never tried, or failed before (a retry) — for the engine named
    ``token``: one UPDATE, and whoever's UPDATE took a row has it (on PostgreSQL a second claimer's UPDATE waits
    for the first and then finds the row taken)."""
    ids = list(image_ids)
    if not ids:
        return []
    GeneratedImage.objects.filter(CLAIMABLE, pk__in=ids).update(
        mirror_state=MirrorState.WAITING,
        mirror_attempted_at=timezone.now(),
        mirror_attempts=F("mirror_attempts") + 1,
        mirror_claim=token,
    )
    return list(
        GeneratedImage.objects.filter(pk__in=ids, mirror_claim=token, mirror_state=MirrorState.WAITING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def fresh_links(task: GenerationTask) -> dict[int, tuple[str, str]]:
    """The vendor's current links of a task's images by save_index (digest: links expire and may change between
    polls), written to the images not stored yet. Empty when they cannot be had."""
    if task.upstream_account is None or not task.upstream_task_id:
        return {}
    client = client_for_account(task.upstream_account)
    client.max_retries = 0
    try:
        result = client.task_result(task.upstream_task_id)
    except UpstreamError as exc:
        logger.info("generation: no fresh links for task #%s: %s", task.pk, exc)
        return {}
    finally:
        client.close()
    links = {image.save_index: (image.large, image.middle) for image in result.images}
    for save_index, (large, middle) in links.items():
        GeneratedImage.objects.filter(task=task, save_index=save_index).exclude(mirror_state=MirrorState.STORED).update(
            upstream_large_url=large, upstream_middle_url=middle
        )
    return links


def _refresh_of(task: GenerationTask) -> tuple[threading.Lock, list[float]]:
    key = (task.pk, task.upstream_task_id)
    with _refreshes_guard:
        if key not in _refreshes:
            if len(_refreshes) > 1000:  # forget old tasks (at worst one more task_result for one of them)
                _refreshes.clear()
            _refreshes[key] = (threading.Lock(), [0.0])
        return _refreshes[key]


def links_after_refusal(image: GeneratedImage) -> tuple[str, str] | None:
    """New links for an image whose download was refused as expired. The task's images are often refused
    together (one answer gave their links): the first refusal asks task_result, which writes every image's new
    links; the others wait for it and read theirs from the database, with no call of their own."""
    tried = (image.upstream_large_url, image.upstream_middle_url)
    lock, last = _refresh_of(image.task)
    with lock:
        stored = (
            GeneratedImage.objects.filter(pk=image.pk).values_list("upstream_large_url", "upstream_middle_url").first()
        )
        if stored and tuple(stored) != tried:
            return tuple(stored)  # another download of the task has just refreshed them
        if time.monotonic() - last[0] < REFRESHED_RECENTLY_SECONDS:
            return None  # Miaohua was asked a moment ago and gave these very links: no second call
        link = fresh_links(image.task).get(image.save_index)
        last[0] = time.monotonic()
        return link


def image_mirror(*, image_id: int, refresh_links: bool = False, token: str = "") -> str:
    """Download one image (``large``, and ``middle`` for the preview) into our storage with a thumbnail. With
    ``token`` the image is already claimed by that engine; without, it is claimed here."""
    if not token:
        token = uuid.uuid4().hex
        if not images_claim([image_id], token=token):
            return "not claimed"
    image = GeneratedImage.objects.select_related("task", "task__upstream_account").filter(pk=image_id).first()
    if image is None or image.mirror_claim != token:
        return "not claimed"
    if refresh_links:
        link = fresh_links(image.task).get(image.save_index)
        if link:
            image.upstream_large_url, image.upstream_middle_url = link
    try:
        try:
            stored = _store(image)
        except image_files.DownloadError as exc:
            link = links_after_refusal(image) if exc.expired and not refresh_links else None
            if not link:
                raise
            image.upstream_large_url, image.upstream_middle_url = link
            stored = _store(image)
    except image_files.DownloadError as exc:
        GeneratedImage.objects.filter(pk=image.pk).update(
            mirror_state=MirrorState.FAILED, mirror_error=str(exc), mirror_claim=""
        )
        logger.info("generation: %s not downloaded: %s", image, exc)
        return "failed"
    except Exception:
        GeneratedImage.objects.filter(pk=image.pk).update(
            mirror_state=MirrorState.FAILED, mirror_error=english(NOT_STORED), mirror_claim=""
        )
        logger.exception("generation: storing %s failed", image)
        return "failed"
    GeneratedImage.objects.filter(pk=image.pk).update(
        file=stored.file,
        preview=stored.preview,
        thumbnail=stored.thumbnail,
        width=stored.width,
        height=stored.height,
        size_bytes=stored.size_bytes,
        mirror_state=MirrorState.STORED,
        mirror_error="",
        mirror_claim="",
        stored_at=timezone.now(),
    )
    return "stored"


def _store(image: GeneratedImage) -> image_files.Stored:
    return image_files.store(
        image, large_url=image.upstream_large_url, middle_url=image.upstream_middle_url, session=_session()
    )


def images_mirror(*, task_id: int, refresh_links: bool = False) -> dict:
    """Every image of a task not stored yet (``refresh_links``: with fresh links first, as a retry does)."""
    outcome = {"stored": 0, "failed": 0}
    task = GenerationTask.objects.select_related("upstream_account").filter(pk=task_id).first()
    if task is None:
        return outcome
    if refresh_links:
        fresh_links(task)
    for image_id in task.images.exclude(mirror_state=MirrorState.STORED).values_list("pk", flat=True):
        result = image_mirror(image_id=image_id)
        if result in outcome:
            outcome[result] += 1
    return outcome


def _retry_due(image: GeneratedImage, now) -> bool:
    """1, 2, 4 … (at most 30) minutes after each failed attempt."""
    wait = timedelta(minutes=min(2 ** max(image.mirror_attempts - 1, 0), 30))
    return image.mirror_attempted_at is None or image.mirror_attempted_at <= now - wait


@engine.register
class MirrorSource(engine.Source):
    """Images waiting for their first download, then failed ones whose back-off has passed (a retry asks for
    fresh links first): as many as the download lane has room for, claimed here (in every worker process:
    the standing-by ones download too, and a claim keeps each image to one of them)."""

    name = "generation-mirror"
    lane = "download"
    every = 0.1
    idle_every = 1.0
    everywhere = True
    headroom = 4

    def __init__(self) -> None:
        super().__init__()
        self.next_retry_check = 0.0

    def collect(self, now: float):
        if not settings.GENERATION_MIRROR_IMAGES or self.room < 1:
            self.busy = settings.GENERATION_MIRROR_IMAGES and self.busy
            return []
        fresh = list(
            GeneratedImage.objects.filter(mirror_state=MirrorState.WAITING, mirror_attempted_at__isnull=True)
            .order_by("id")
            .values_list("pk", flat=True)[: self.room]
        )
        self.busy = bool(fresh)  # retries come minutes later: an inline run does not wait for them
        work = [self._work(pk) for pk in images_claim(fresh, token=self.token)]
        if now >= self.next_retry_check and len(work) < self.room:
            self.next_retry_check = now + RETRY_CHECK_SECONDS
            due = self._retries(self.room - len(work))
            work += [self._work(pk, refresh_links=True) for pk in images_claim(due, token=self.token)]
        return work

    def _work(self, pk: int, refresh_links: bool = False) -> engine.Work:
        run = partial(image_mirror, image_id=pk, refresh_links=refresh_links, token=self.token)
        return engine.Work(key=("generation-mirror", pk), run=run)

    def _retries(self, room: int) -> list[int]:
        moment = timezone.now()
        max_attempts = int(settings.GENERATION_MIRROR_MAX_ATTEMPTS)
        failed = GeneratedImage.objects.filter(mirror_state=MirrorState.FAILED, mirror_attempts__lt=max_attempts)
        return [
            image.pk
            for image in failed.only("pk", "mirror_attempts", "mirror_attempted_at")[: self.LOOK_AHEAD]
            if _retry_due(image, moment)
        ][:room]

    LOOK_AHEAD = 200
