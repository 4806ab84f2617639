"""Writes of the generation app: storing tasks, sending them to Miaohua, polling them, mirroring their images,
and recovering from workers that died (docs/ARCHITECTURE.md, "Life of a generation task" and "The poller").

Web requests call ``generation_submit``/``generation_retry``/``input_image_*``; everything that talks to the
vendor runs in django-q2 jobs (``generation/tasks.py``) that call the functions below by primary key.
"""

import copy
import logging
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from itertools import islice

import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task
from PIL import Image, UnidentifiedImageError

from generation import images as image_files
from generation.leases import Lease, lease_is_free
from generation.models import GeneratedImage, GenerationTask, InputImage
from generation.ratelimit import RateLimiter
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import client_for_account
from miaohua_site.upstream.client import MAX_TASK_IDS
from miaohua_site.upstream.errors import (
    AuthenticationError,
    LoginFailed,
    ProtocolError,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from miaohua_site.upstream.types import Task as UpstreamTask

logger = logging.getLogger(__name__)

State = GenerationTask.State
MirrorState = GeneratedImage.MirrorState

SUBMIT_JOB = "generation.tasks.task_submit_job"
POLL_JOB = "generation.tasks.poll_sweep_job"
MIRROR_JOB = "generation.tasks.images_mirror_job"
RECOVER_JOB = "generation.tasks.generation_recover_job"
RECOVER_SCHEDULE = "generation: restart pollers, recover stuck tasks, retry downloads"

# What a failed task says, in plain words.
NOT_CONNECTED = "Connect your Miaohua account (Settings) to generate images."
NO_ANSWER = "Miaohua did not answer; the task may or may not have started — try again."
NOT_REACHED = "Miaohua could not be reached, so nothing was sent — try again."
BUSY = "Miaohua was too busy to take the task, so nothing was sent — try again in a moment."
INPUT_MISSING = "An input image is no longer available; pick it again."
DISCONNECTED = "The Miaohua account was disconnected before the task finished."
NO_IMAGES = "Miaohua finished the task without any image."
TIMED_OUT = "timed out upstream: Miaohua did not finish the task within {minutes:g} minutes."

# The vendor's upload limits (digest, "Limits (vendor FAQ)"): larger or other files are re-encoded as JPEG.
UPLOAD_MAX_BYTES = 5 * 1024 * 1024
UPLOAD_FORMATS = {"JPEG", "PNG", "WEBP"}
# The limiter counts a call from its answer (see RateLimiter.finished), which already covers network jitter;
# the slack only absorbs rounding.
RATE_WINDOW_SLACK = 0.02


def _batched(items, size: int):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _setting(name: str, default):
    return getattr(settings, name, default)


def _timeout_seconds() -> float:
    return float(_setting("GENERATION_TIMEOUT_SECONDS", 15 * 60))


def account_rate_limiter(account_id: int) -> RateLimiter:
    """The account's one rate window (digest: 6 calls a second), shared by every poller of that account —
    generation's and training's — and by every worker process, with its back-off."""
    return RateLimiter(
        f"task_results:{account_id}",
        calls=int(_setting("GENERATION_POLL_RATE", 6)),
        per=1.0 + RATE_WINDOW_SLACK,
    )


def poll_lease_name(account_id: int) -> str:
    return f"generation-poll:{account_id}"


def _enqueue(func: str, *args, **kwargs) -> None:
    """Enqueue a job once the current transaction commits (at once outside one). A broker failure in a web
    request is logged, not shown: the recovery schedule finds what was not enqueued."""

    def send() -> None:
        async_task(func, *args, **kwargs)

    transaction.on_commit(send, robust=not Conf.SYNC)


# --- Submitting --------------------------------------------------------------------------------------------


def task_columns(params: dict, *, model_name: str = "") -> dict:
    """The denormalised columns of a task, from its vendor parameters."""
    cn_configs = params.get("cn_configs") or []
    lora_configs = params.get("lora_configs") or []
    return {
        "kind": GenerationTask.Kind.IMG2IMG if params.get("init_img") else GenerationTask.Kind.TXT2IMG,
        "prompt": str(params.get("prompt") or ""),
        "neg_prompt": str(params.get("neg_prompt") or ""),
        "versionid": str(params.get("versionid") or "")[:200],
        "model_name": str(model_name or params.get("model_name") or params.get("versionid") or "")[:200],
        "lora_versionid": str(lora_configs[0].get("versionid") or "")[:200] if lora_configs else "",
        "cn_types": ",".join(str(unit.get("cn") or "") for unit in cn_configs)[:200],
        "n_images": int(params.get("n_images") or 2),
        "output_size": str(params.get("output_size") or "")[:20],
    }


def _task_with_key(user, idempotency_key: uuid.UUID) -> GenerationTask | None:
    return GenerationTask.objects.filter(owner=user, idempotency_key=idempotency_key).first()


def generation_submit(*, user, params: dict, idempotency_key: uuid.UUID, model_name: str = "") -> GenerationTask:
    """Store a task (``queued``) and enqueue its submit job; no upstream call here.

    ``params`` are the validated task_submit parameters (vendor names; input images as ``"input:<pk>"``);
    ``model_name`` is the base model's display name. The same ``idempotency_key`` (a resent form, a double
    click) gives back the task it made the first time."""
    existing = _task_with_key(user, idempotency_key)
    if existing is not None:
        return existing
    task = GenerationTask(
        owner=user,
        upstream_account=UpstreamAccount.objects.filter(user=user).first(),
        idempotency_key=idempotency_key,
        params=params,
        **task_columns(params, model_name=model_name),
    )
    try:
        with transaction.atomic():
            task.save()
    except IntegrityError:  # the same form, sent twice at once: the other request stored it
        return GenerationTask.objects.get(owner=user, idempotency_key=idempotency_key)
    _enqueue(SUBMIT_JOB, task.pk, task_name=f"generation-submit-{task.pk}")
    return task


def generation_retry(*, task: GenerationTask, user=None, idempotency_key: uuid.UUID | None = None) -> GenerationTask:
    """A new task with the same parameters ("try again"), owned by ``user`` (default: the task's owner).
    Pass the form's key to make a double click one task."""
    return generation_submit(
        user=user or task.owner,
        params=copy.deepcopy(task.params),
        idempotency_key=idempotency_key or uuid.uuid4(),
        model_name=task.model_name,
    )


def input_image_create(*, user, file) -> InputImage:
    """Store an image the user uploaded for use as init or ControlNet image."""
    try:
        with Image.open(file) as picture:
            format_, (width, height) = picture.format, picture.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError):
        raise ValidationError("Upload a PNG, JPEG or WebP image.", code="not_an_image") from None
    if format_ not in UPLOAD_FORMATS:
        raise ValidationError("Upload a PNG, JPEG or WebP image.", code="not_an_image")
    file.seek(0)
    image = InputImage(owner=user, width=width, height=height)
    name = getattr(file, "name", "") or f"input{image_files.FORMATS[format_]}"
    image.file.save(name.rsplit("/", 1)[-1], file, save=False)
    image.save()
    return image


def input_image_from_history(*, user, image: GeneratedImage) -> InputImage:
    """Use a generated image the user may see (their own, or a teammate's shared one) as init or ControlNet
    image (no copy of the file)."""
    from generation.selectors import images_visible_to

    if not images_visible_to(user).filter(pk=image.pk).exists():
        raise PermissionDenied("Not an image you can see.")
    if not image.file:
        raise ValidationError("This image has not been downloaded yet; try again in a moment.", code="not_stored")
    return InputImage.objects.create(owner=user, source_image=image, width=image.width, height=image.height)


class _InputMissing(Exception):
    pass


def _input_refs(params: dict) -> list[str]:
    refs = []
    if _is_ref(params.get("init_img")):
        refs.append(params["init_img"])
    for unit in params.get("cn_configs") or []:
        if isinstance(unit, dict) and _is_ref(unit.get("img")):
            refs.append(unit["img"])
    return list(dict.fromkeys(refs))


def _is_ref(value) -> bool:
    return isinstance(value, str) and value.startswith(InputImage.REFERENCE_PREFIX)


def _upload_input(client, *, owner_id: int, reference: str) -> str:
    """Upload one referenced InputImage of the task's owner; returns the vendor's URL."""
    try:
        pk = int(reference.removeprefix(InputImage.REFERENCE_PREFIX))
    except ValueError:
        raise _InputMissing(reference) from None
    image = InputImage.objects.select_related("source_image").filter(pk=pk, owner_id=owner_id).first()
    stored = image.stored_file if image is not None else None
    if stored is None or not stored.storage.exists(stored.name):
        raise _InputMissing(reference)
    with stored.open("rb") as handle:
        try:
            with Image.open(handle) as picture:
                format_ = picture.format
        except (UnidentifiedImageError, OSError):
            raise _InputMissing(reference) from None
        handle.seek(0)
        name = stored.name.rsplit("/", 1)[-1]
        if format_ in UPLOAD_FORMATS and stored.size <= UPLOAD_MAX_BYTES:
            return client.upload_img((name, handle))  # streamed from storage
        with _vendor_ready_jpeg(handle) as converted:
            return client.upload_img((name.rsplit(".", 1)[0] + ".jpg", converted))


def _vendor_ready_jpeg(handle):
    """A JPEG within the vendor's 5 MB upload limit, for a picture that is too big or of another format."""
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
            if out.tell() <= UPLOAD_MAX_BYTES:
                break
    out.seek(0)
    return out


def _fail(task_pk: int, message: str, *, from_states=(State.SUBMITTING,), **extra) -> bool:
    return bool(
        GenerationTask.objects.filter(pk=task_pk, state__in=from_states).update(
            state=State.FAILED, error_message=message, finished_at=timezone.now(), **extra
        )
    )


def generation_send(*, task_id: int) -> str:
    """The submit job: claim a queued task, upload its input images, call task_submit once, and start polling.

    Returns what happened in a word (for the job's result). Safe to run twice: only one run claims the task,
    and the vendor is never called a second time for it (``submit_attempted_at`` is written first)."""
    now = timezone.now()
    claimed = GenerationTask.objects.filter(pk=task_id, state=State.QUEUED).update(
        state=State.SUBMITTING, claimed_at=now
    )
    if claimed != 1:
        return "not queued"
    task = GenerationTask.objects.get(pk=task_id)
    account = UpstreamAccount.objects.filter(user_id=task.owner_id).first()
    if account is None:
        _fail(task.pk, NOT_CONNECTED)
        return "failed"
    if task.upstream_account_id != account.pk:
        GenerationTask.objects.filter(pk=task.pk).update(upstream_account=account)
    client = client_for_account(account)
    try:
        try:
            sent = copy.deepcopy(task.params)
            urls = {ref: _upload_input(client, owner_id=task.owner_id, reference=ref) for ref in _input_refs(sent)}
        except _InputMissing:
            _fail(task.pk, INPUT_MISSING)
            return "failed"
        except (UpstreamUnavailable, RateLimited):
            _fail(task.pk, "Miaohua could not take the input image just now, so nothing was sent — try again.")
            return "failed"
        except UpstreamError as exc:
            _fail(task.pk, exc.user_message)
            return "failed"
        if urls:
            if sent.get("init_img") in urls:
                sent["init_img"] = urls[sent["init_img"]]
            for unit in sent.get("cn_configs") or []:
                if isinstance(unit, dict) and unit.get("img") in urls:
                    unit["img"] = urls[unit["img"]]
        sent.pop("token", None)
        # From here on the vendor may know the task: recorded first, so a crash is never followed by a resend.
        GenerationTask.objects.filter(pk=task.pk).update(params_sent=sent, submit_attempted_at=timezone.now())
        try:
            upstream_id = client.task_submit(sent)
        except UpstreamUnavailable as exc:
            _fail(task.pk, NO_ANSWER if exc.may_have_reached_vendor else NOT_REACHED)
            return "failed"
        except ProtocolError:
            _fail(task.pk, NO_ANSWER)
            return "failed"
        except RateLimited:
            _fail(task.pk, BUSY)
            return "failed"
        except UpstreamError as exc:  # a refusal: invalid parameter, sensitive content, account limits, login
            _fail(task.pk, exc.user_message)
            return "failed"
    finally:
        client.close()
    moved = GenerationTask.objects.filter(pk=task.pk, state=State.SUBMITTING).update(
        state=State.PENDING, upstream_task_id=upstream_id, submitted_at=timezone.now()
    )
    if not moved:  # the recovery gave up on it meanwhile: keep the vendor's id so the task can still be found
        GenerationTask.objects.filter(pk=task.pk, upstream_task_id="").update(upstream_task_id=upstream_id)
        return "lost"
    poll_start(account_id=account.pk)
    return "pending"


# --- Polling -----------------------------------------------------------------------------------------------


@dataclass
class PollReport:
    """What one poll job did (returned by the job, so it shows in django-q2's results)."""

    account_id: int
    busy: bool = False
    sweeps: int = 0
    calls: int = 0
    done: int = 0
    failed: int = 0
    backoffs: int = 0
    calls_per_sweep: list[int] = field(default_factory=list)
    in_flight_per_sweep: list[int] = field(default_factory=list)
    stopped: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def poll_start(*, account_id: int) -> None:
    """Make sure a sweep runs for the account: enqueue one unless one holds the lease."""
    if lease_is_free(poll_lease_name(account_id)):
        _enqueue(POLL_JOB, account_id, task_name=f"generation-poll-{account_id}-{uuid.uuid4().hex[:8]}")


def _in_flight(account_id: int):
    return GenerationTask.objects.filter(upstream_account_id=account_id, state=State.PENDING)


def generation_poll(*, account_id: int, budget_seconds: float | None = None) -> PollReport:
    """One account's poll sweeps, under its lease: ask ``task_results`` for every pending task, oldest-polled
    first, ≤ 50 ids and ≤ 6 calls per second (counted in the database), write what changed, and go round again
    (at most once per ``GENERATION_POLL_INTERVAL_SECONDS``) until nothing is in flight or the time budget is
    spent; then re-enqueue itself if work remains (not in django-q2's sync mode, where the schedule does)."""
    report = PollReport(account_id=account_id)
    lease = Lease(poll_lease_name(account_id), seconds=float(_setting("GENERATION_POLL_LEASE_SECONDS", 30)))
    if not lease.acquire():
        report.busy = True
        return report
    budget = _setting("GENERATION_POLL_BUDGET_SECONDS", 120) if budget_seconds is None else budget_seconds
    deadline = time.time() + float(budget)
    client = None
    try:
        account = UpstreamAccount.objects.filter(pk=account_id).first()
        if account is None:
            report.stopped = "no account"
            return report
        client = client_for_account(account)
        client.max_retries = 0  # every call goes through the shared limiter; back-off is ours
        limiter = account_rate_limiter(account_id)
        report.stopped = _poll_loop(account, client, limiter, lease, deadline, report)
        return report
    finally:
        if client is not None:
            client.close()
        if lease.held:
            lease.release()
        if report.stopped in ("time budget spent", "error") and not Conf.SYNC:
            # Keep the loop going beyond one job's timeout; the lease keeps it to one per account. Should this
            # enqueue fail, the minute schedule restarts the sweep.
            try:
                poll_start(account_id=account_id)
            except Exception:
                logger.exception("generation poll: could not re-enqueue the sweep of account %s", account_id)


MAX_ROUND_ERRORS = 3


def _poll_loop(account, client, limiter: RateLimiter, lease: Lease, deadline: float, report: PollReport) -> str:
    """Sweep after sweep until there is a reason to stop; returns it."""
    interval = float(_setting("GENERATION_POLL_INTERVAL_SECONDS", 1.0))
    sensitive = account.sensitive_limit_value or None
    errors = 0
    while True:
        sweep_started = time.time()
        try:
            _fail_timed_out(GenerationTask.objects.filter(upstream_account_id=account.pk))
            pending = list(
                _in_flight(account.pk)
                .order_by(F("last_polled_at").asc(nulls_first=True), "id")
                .values_list("pk", "upstream_task_id")
            )
            if not pending:
                # Release, then look once more: a task that became pending meanwhile had its sweep refused
                # by our lease, so it is ours to poll.
                lease.release()
                if _in_flight(account.pk).exists() and lease.acquire():
                    continue
                return "nothing in flight"
            report.in_flight_per_sweep.append(len(pending))
            outcome = _sweep(client, limiter, lease, pending, sensitive, deadline, report)
            errors = 0
        except DatabaseError:
            # E.g. SQLite busy beyond its timeout: wait a moment and go round again, a few times.
            errors += 1
            logger.exception("generation poll: database error in a sweep (%d in a row)", errors)
            if errors >= MAX_ROUND_ERRORS:
                return "error"
            time.sleep(1.0)
            continue
        report.sweeps += 1
        if outcome in ("lease lost", "login failed"):
            return outcome
        if outcome == "deadline" or time.time() >= deadline:
            return "time budget spent"
        # No faster than one sweep per interval: completed tasks are still seen within about a second.
        pause = sweep_started + interval - time.time()
        if pause > 0:
            if time.time() + pause >= deadline:
                return "time budget spent"
            time.sleep(pause)


def _sweep(client, limiter: RateLimiter, lease: Lease, pending, sensitive, deadline: float, report) -> str:
    """One pass over the account's pending tasks in chunks of ≤ 50. Returns why it stopped."""
    calls = 0
    try:
        for chunk in _batched(pending, MAX_TASK_IDS):
            if not lease.renew():
                return "lease lost"
            slot = limiter.acquire(deadline=deadline)
            if slot is None:
                return "deadline"
            calls += 1
            report.calls += 1
            by_upstream = {upstream_id: pk for pk, upstream_id in chunk}
            try:
                results = client.task_results(list(by_upstream), sensitive_limit_value=sensitive)
            except (RateLimited, UpstreamUnavailable, ProtocolError) as exc:
                delay = limiter.back_off(retry_after=getattr(exc, "retry_after", None))
                report.backoffs += 1
                logger.warning("generation poll: %s; backing off %.1f s", exc, delay)
                return "backed off"  # the next sweep starts with the tasks this one did not reach
            except (AuthenticationError, LoginFailed) as exc:
                # The client already logged in again once; the stored credentials no longer work.
                logger.warning("generation poll: cannot log in to Miaohua: %s", exc)
                limiter.back_off()
                return "login failed"
            finally:
                limiter.finished(slot)
            limiter.succeeded()
            done, failed = _record_results(by_upstream, results)
            report.done += done
            report.failed += failed
        return "swept"
    finally:
        report.calls_per_sweep.append(calls)


def _record_results(by_upstream: dict[str, int], results: dict[str, UpstreamTask]) -> tuple[int, int]:
    """Write one task_results answer: done (images recorded, mirror job enqueued), failed, still pending."""
    now = timezone.now()
    done = failed = 0
    still_pending: dict[float | None, list[int]] = {}
    with transaction.atomic():
        for upstream_id, pk in by_upstream.items():
            result = results.get(upstream_id) or UpstreamTask.pending(upstream_id)
            if result.is_pending:
                wait = float(result.wait_time) if result.wait_time is not None else None
                still_pending.setdefault(wait, []).append(pk)
            elif result.is_done and result.images:
                if _record_done(pk, result, now):
                    done += 1
            else:
                message = NO_IMAGES if result.is_done else _vendor_failure(result)
                if _fail(pk, message, from_states=(State.PENDING,), last_polled_at=now,
                         poll_attempts=F("poll_attempts") + 1, select_seed=result.select_seed):  # fmt: skip
                    failed += 1
        for wait, pks in still_pending.items():
            GenerationTask.objects.filter(pk__in=pks, state=State.PENDING).update(
                last_polled_at=now, poll_attempts=F("poll_attempts") + 1, wait_time=wait
            )
    return done, failed


def _vendor_failure(result: UpstreamTask) -> str:
    if result.error_msg:
        return f"Miaohua could not generate the images: {result.error_msg}"
    return f"Miaohua reported the task as {result.state!r} without saying why."


def _record_done(pk: int, result: UpstreamTask, now) -> bool:
    moved = GenerationTask.objects.filter(pk=pk, state=State.PENDING).update(
        state=State.DONE,
        finished_at=now,
        last_polled_at=now,
        poll_attempts=F("poll_attempts") + 1,
        select_seed=result.select_seed,
        wait_time=None,
        error_message="",
    )
    if not moved:
        return False
    indexes = [image.save_index for image in result.images]
    if len(set(indexes)) != len(indexes):  # not documented to be unique: fall back to the answer's order
        indexes = list(range(len(result.images)))
    GeneratedImage.objects.bulk_create(
        [
            GeneratedImage(
                task_id=pk,
                save_index=index,
                seed=result.select_seed,
                upstream_large_url=image.large,
                upstream_middle_url=image.middle,
                created_at=now,
            )
            for index, image in zip(indexes, result.images, strict=True)
        ],
        ignore_conflicts=True,
    )
    if _setting("GENERATION_MIRROR_IMAGES", True):
        _enqueue(MIRROR_JOB, pk, task_name=f"generation-mirror-{pk}")
    return True


def _fail_timed_out(tasks) -> int:
    """Fail pending tasks older than GENERATION_TIMEOUT_SECONDS (counted from the submission)."""
    seconds = _timeout_seconds()
    cutoff = timezone.now() - timedelta(seconds=seconds)
    return tasks.filter(state=State.PENDING, submitted_at__lt=cutoff).update(
        state=State.FAILED, error_message=TIMED_OUT.format(minutes=seconds / 60), finished_at=timezone.now()
    )


# --- Mirroring ---------------------------------------------------------------------------------------------


def _claim_image(image: GeneratedImage) -> bool:
    """Take an image to download: not stored, and nobody else's attempt under way (one lasts ≤ 10 min)."""
    now = timezone.now()
    stale = now - timedelta(seconds=float(_setting("GENERATION_MIRROR_LEASE_SECONDS", 600)))
    rows = GeneratedImage.objects.filter(pk=image.pk).exclude(mirror_state=MirrorState.STORED)
    if image.mirror_attempted_at is None:
        rows = rows.filter(mirror_attempted_at__isnull=True)
    else:
        rows = rows.filter(mirror_attempted_at=image.mirror_attempted_at).filter(
            Q(mirror_state=MirrorState.FAILED) | Q(mirror_attempted_at__lt=stale)
        )
    claimed = rows.update(
        mirror_state=MirrorState.WAITING, mirror_attempted_at=now, mirror_attempts=F("mirror_attempts") + 1
    )
    return claimed == 1


def images_mirror(*, task_id: int, refresh_links: bool = False) -> dict:
    """Download every not-yet-stored image of a done task into our storage, with a thumbnail.

    ``refresh_links`` asks ``task_result`` for fresh links first (a retry: the old ones may have expired).
    One image failing does not stop the others; each failure is kept on the image for a later retry."""
    task = GenerationTask.objects.select_related("upstream_account").filter(pk=task_id).first()
    outcome = {"stored": 0, "failed": 0}
    if task is None:
        return outcome
    waiting = list(task.images.exclude(mirror_state=MirrorState.STORED))
    if not waiting:
        return outcome
    if refresh_links:
        _refresh_links(task, waiting)
    session = requests.Session()
    try:
        for image in waiting:
            if not _claim_image(image):
                continue
            try:
                stored = image_files.store(
                    image,
                    large_url=image.upstream_large_url,
                    middle_url=image.upstream_middle_url,
                    session=session,
                )
            except image_files.DownloadError as exc:
                GeneratedImage.objects.filter(pk=image.pk).update(
                    mirror_state=MirrorState.FAILED, mirror_error=str(exc)
                )
                outcome["failed"] += 1
                logger.info("generation: %s not downloaded: %s", image, exc)
                continue
            except Exception:
                GeneratedImage.objects.filter(pk=image.pk).update(
                    mirror_state=MirrorState.FAILED, mirror_error="The image could not be stored."
                )
                outcome["failed"] += 1
                logger.exception("generation: storing %s failed", image)
                continue
            GeneratedImage.objects.filter(pk=image.pk).update(
                file=stored.file,
                preview=stored.preview,
                thumbnail=stored.thumbnail,
                width=stored.width,
                height=stored.height,
                size_bytes=stored.size_bytes,
                mirror_state=MirrorState.STORED,
                mirror_error="",
            )
            outcome["stored"] += 1
    finally:
        session.close()
    return outcome


def _refresh_links(task: GenerationTask, waiting: list[GeneratedImage]) -> None:
    if task.upstream_account is None or not task.upstream_task_id:
        return
    client = client_for_account(task.upstream_account)
    try:
        result = client.task_result(task.upstream_task_id)
    except UpstreamError as exc:
        logger.info("generation: no fresh links for task #%s: %s", task.pk, exc)
        return
    finally:
        client.close()
    fresh = {image.save_index: image for image in result.images}
    for image in waiting:
        link = fresh.get(image.save_index)
        if link is None:
            continue
        image.upstream_large_url, image.upstream_middle_url = link.large, link.middle
        GeneratedImage.objects.filter(pk=image.pk).update(
            upstream_large_url=link.large, upstream_middle_url=link.middle
        )


# --- Recovery (the one-minute schedule) --------------------------------------------------------------------


def generation_recover() -> dict:
    """What a worker that died left behind, and what the minute schedule restarts:

    - queued tasks whose submit job was lost (still queued after GENERATION_REQUEUE_AFTER_SECONDS) → enqueued
      again (the claim keeps it to one run);
    - tasks stuck in ``submitting`` past ``GENERATION_SUBMIT_LEASE_SECONDS``: failed with "may or may not
      have started" when task_submit was attempted (never resent), queued again when it was not;
    - pending tasks past the timeout, or whose account was disconnected → failed;
    - accounts with pending tasks whose sweep lease lapsed → a sweep;
    - images whose download failed (up to GENERATION_MIRROR_MAX_ATTEMPTS, backing off) or was lost → again,
      with fresh links."""
    now = timezone.now()
    counts = {"requeued": 0, "resubmitted": 0, "gave_up": 0, "timed_out": 0, "sweeps": 0, "mirrors": 0}

    # Not sooner: a busy cluster may simply not have reached the job yet (a second one would be a no-op).
    lost_after = timedelta(seconds=float(_setting("GENERATION_REQUEUE_AFTER_SECONDS", 300)))
    for pk in GenerationTask.objects.filter(state=State.QUEUED, created_at__lt=now - lost_after).values_list(
        "pk", flat=True
    ):
        _enqueue(SUBMIT_JOB, pk, task_name=f"generation-submit-{pk}-again")
        counts["requeued"] += 1

    stuck = GenerationTask.objects.filter(
        state=State.SUBMITTING,
        claimed_at__lt=now - timedelta(seconds=float(_setting("GENERATION_SUBMIT_LEASE_SECONDS", 600))),
    )
    counts["gave_up"] = stuck.filter(submit_attempted_at__isnull=False).update(
        state=State.FAILED, error_message=NO_ANSWER, finished_at=now
    )
    for pk in stuck.filter(submit_attempted_at__isnull=True).values_list("pk", flat=True):
        # It died before calling the vendor (while uploading inputs): sending it now is its first send.
        if GenerationTask.objects.filter(pk=pk, state=State.SUBMITTING, submit_attempted_at__isnull=True).update(
            state=State.QUEUED, claimed_at=None
        ):
            _enqueue(SUBMIT_JOB, pk, task_name=f"generation-submit-{pk}-resumed")
            counts["resubmitted"] += 1

    counts["timed_out"] = _fail_timed_out(GenerationTask.objects.all())
    counts["timed_out"] += GenerationTask.objects.filter(state=State.PENDING, upstream_account__isnull=True).update(
        state=State.FAILED, error_message=DISCONNECTED, finished_at=now
    )

    for account_id in (
        GenerationTask.objects.filter(state=State.PENDING)
        .values_list("upstream_account_id", flat=True)
        .distinct()
        .order_by()
    ):
        if lease_is_free(poll_lease_name(account_id)):
            poll_start(account_id=account_id)
            counts["sweeps"] += 1

    max_attempts = int(_setting("GENERATION_MIRROR_MAX_ATTEMPTS", 5))
    lost = now - timedelta(seconds=float(_setting("GENERATION_MIRROR_LEASE_SECONDS", 600)))
    retry_tasks = set()
    for image in GeneratedImage.objects.filter(
        Q(mirror_state=MirrorState.FAILED, mirror_attempts__lt=max_attempts)
        | Q(mirror_state=MirrorState.WAITING, created_at__lt=now - timedelta(minutes=2))
    ).only("task_id", "mirror_state", "mirror_attempts", "mirror_attempted_at"):
        if image.mirror_state == MirrorState.FAILED:
            # Back off: 1, 2, 4 … (at most 30) minutes after each failed attempt.
            wait = timedelta(minutes=min(2 ** max(image.mirror_attempts - 1, 0), 30))
            if image.mirror_attempted_at and image.mirror_attempted_at > now - wait:
                continue
        elif image.mirror_attempted_at is not None and image.mirror_attempted_at > lost:
            continue  # an attempt is under way
        retry_tasks.add(image.task_id)
    for task_pk in sorted(retry_tasks):
        _enqueue(MIRROR_JOB, task_pk, True, task_name=f"generation-mirror-{task_pk}-retry")
        counts["mirrors"] += 1
    return counts


def ensure_schedules() -> Schedule:
    """The one-minute recovery schedule, created or corrected idempotently (by name)."""
    schedule, _ = Schedule.objects.update_or_create(
        name=RECOVER_SCHEDULE,
        defaults={
            "func": RECOVER_JOB,
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    return schedule
