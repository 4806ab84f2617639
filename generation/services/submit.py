"""Storing tasks (web requests) and sending them to Miaohua (the engine's submit lane).

A task is ``queued`` when stored; the engine's ``SubmitSource`` hands it to ``generation_send``, which claims it
(``UPDATE … WHERE state='queued'``), uploads its input images, records the attempt, then calls task_submit
once. A submission the vendor surely did nothing with (429, "too many running tasks", not reached) goes back
to the queue with a back-off and its reason on the card; one that may have reached the vendor is never sent
again (docs/ARCHITECTURE.md, "Life of a generation task")."""

import copy
import itertools
import logging
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from PIL import Image, UnidentifiedImageError

from generation import images as image_files
from generation.models import GeneratedImage, GenerationTask, InputImage, TaskGroup, TaskInput
from generation.plans import Plan, TaskPlan
from generation.vendor_rules import UPLOAD_FORMATS, UPLOAD_MAX_BYTES  # larger or other files: sent as JPEG
from miaohua_site.accounts.services import account_for_user, client_for_account
from miaohua_site.i18n import english, stored
from miaohua_site.upstream.errors import UpstreamError, UpstreamUnavailable
from miaohua_site.workers import engine
from miaohua_site.workers.jobs import NO_ANSWER, outcome_unknown, surely_not_done, unsent_message
from miaohua_site.workers.ratelimit import account_submit_window
from team.services import quotas

logger = logging.getLogger(__name__)

State = GenerationTask.State

# What a failed task says, in plain words.
# Stored in English (a worker writes them), shown in the reader's language (miaohua_site.i18n).
NOT_CONNECTED = gettext_noop("Connect your Miaohua account (Settings) to generate images.")
TEAM_ACCOUNT_REFUSED = gettext_noop("You may no longer use the team's Miaohua account; connect your own (Settings).")
INPUT_MISSING = gettext_noop("An input image is no longer available; pick it again.")
RETRYING = stored(gettext_noop("{reason} Trying again shortly (attempt {attempt} of {attempts})."))

# How many times a submission the vendor did nothing with is sent, and the longest pause between two.
MAX_RETRY_DELAY_SECONDS = 30.0


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


def generation_submit(
    *,
    user,
    params: dict,
    idempotency_key: uuid.UUID,
    model_name: str = "",
    style_ids=(),
    style_names: str = "",
) -> GenerationTask:
    """Store a task (``queued``) for the engine to send; no upstream call here.

    ``params`` are the validated task_submit parameters (vendor names; input images as ``"input:<pk>"``);
    ``model_name`` is the base model's display name; ``style_ids`` / ``style_names`` the styles it was made
    with. The same ``idempotency_key`` (a resent form, a double click) gives back the task it made the first
    time. Raises ``QuotaExceeded`` (a ValidationError with the plain reason) when the member's quotas do not
    allow it; nothing is stored then."""
    existing = _task_with_key(user, idempotency_key)
    if existing is not None:
        return existing
    plan = TaskPlan(params=params, model_name=model_name, style_ids=list(style_ids), style_names=style_names)
    account, limits = _account_and_limits(user)
    try:
        with transaction.atomic():
            # The member's quota lock first: their submissions count one after the other (team.services.quotas).
            quotas.quota_lock(user)
            existing = _task_with_key(user, idempotency_key)  # the same form sent twice at once: counted once
            if existing is not None:
                return existing
            [task] = _tasks_store(user, [plan], account=account, limits=limits, keys=[idempotency_key])
    except IntegrityError:  # the same form, sent twice at once: the other request stored it
        return GenerationTask.objects.get(owner=user, idempotency_key=idempotency_key)
    engine.wake_on_commit()
    return task


def generation_submit_group(*, user, plan: Plan, idempotency_key: uuid.UUID) -> TaskGroup:
    """Store a batch or a sweep: its group and every task of it (``queued``, in the plan's order), checked
    against the member's quotas as a whole (``QuotaExceeded``: nothing is stored). The same key gives back the
    group made the first time."""
    existing = TaskGroup.objects.filter(owner=user, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    account, limits = _account_and_limits(user)
    try:
        with transaction.atomic():
            quotas.quota_lock(user)
            existing = TaskGroup.objects.filter(owner=user, idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
            group = TaskGroup.objects.create(
                owner=user,
                kind=plan.kind or TaskGroup.Kind.BATCH,
                idempotency_key=idempotency_key,
                axes=plan.axes,
                base_params=plan.base_params,
                n_tasks=plan.n_tasks,
                n_images=plan.n_images,
            )
            _tasks_store(user, plan.tasks, account=account, limits=limits, group=group)
    except IntegrityError:
        return TaskGroup.objects.get(owner=user, idempotency_key=idempotency_key)
    engine.wake_on_commit()
    return group


def _account_and_limits(user):
    """Read before the submission's transaction: the account its tasks go to, and the member's limits."""
    return account_for_user(user), quotas.effective_limits(quotas.ensure_membership(user))


def _tasks_store(
    user, plans: list[TaskPlan], *, account, limits, keys=None, group: TaskGroup | None = None
) -> list[GenerationTask]:
    """Inside the caller's transaction, after the quota lock: check the quotas for all of them, store the tasks
    (one bulk insert), their inputs and styles, and the quota alerts they cause."""
    n_images = sum(plan.n_images for plan in plans)
    before = quotas.quota_check(user, n_images=n_images, n_tasks=len(plans), limits=limits)  # raises QuotaExceeded
    now = timezone.now()
    tasks = [
        GenerationTask(
            owner=user,
            upstream_account=account,
            idempotency_key=keys[index] if keys else uuid.uuid4(),
            params=plan.params,
            group=group,
            group_index=index if group is not None else None,
            cell=plan.cell,
            style_names=plan.style_names[:300],
            created_at=now,
            **task_columns(plan.params, model_name=plan.model_name),
        )
        for index, plan in enumerate(plans)
    ]
    if len(tasks) == 1:
        tasks[0].save()  # its pk on every database
    else:
        tasks = GenerationTask.objects.bulk_create(tasks)
        if any(task.pk is None for task in tasks):  # a database that does not return ids from a bulk insert
            tasks = list(GenerationTask.objects.filter(group=group).order_by("group_index"))
    for task in tasks:
        task_inputs_create(task=task)
    through = GenerationTask.styles.through
    rows = [
        through(generationtask_id=task.pk, style_id=pk)
        for task, plan in zip(tasks, plans, strict=True)
        for pk in plan.style_ids
    ]
    through.objects.bulk_create(rows)
    quotas.quota_alerts_after(user, status=before, n_images=n_images)
    return tasks


def task_input_slots(params: dict) -> list[tuple[str, int, int]]:
    """(role, position, input image pk) for each input a task's params name: the init image, then each
    ControlNet unit's image by its index. A reference that is not ``"input:<pk>"`` is left out."""
    slots = []
    pk = _ref_pk(params.get("init_img"))
    if pk is not None:
        slots.append((TaskInput.Role.INIT, 0, pk))
    for position, unit in enumerate(params.get("cn_configs") or []):
        pk = _ref_pk(unit.get("img")) if isinstance(unit, dict) else None
        if pk is not None:
            slots.append((TaskInput.Role.CONTROLNET, position, pk))
    return slots


def _ref_pk(value) -> int | None:
    if not _is_ref(value):
        return None
    try:
        pk = int(value.removeprefix(InputImage.REFERENCE_PREFIX))
    except ValueError:
        return None
    return pk if 0 < pk < 2**63 else None


def task_inputs_create(*, task: GenerationTask) -> list[TaskInput]:
    """The TaskInput rows of a task just stored (one bulk insert, in the caller's transaction). Only the owner's
    own input images count: a reference to someone else's would never be uploaded, and must not make it
    visible to those who see this task (library.selectors.input_images_visible_to)."""
    slots = task_input_slots(task.params or {})
    if not slots:
        return []
    owned = set(
        InputImage.objects.filter(owner_id=task.owner_id, pk__in={pk for _, _, pk in slots}).values_list(
            "pk", flat=True
        )
    )
    rows = [
        TaskInput(task=task, image_id=pk, role=role, position=position) for role, position, pk in slots if pk in owned
    ]
    return TaskInput.objects.bulk_create(rows)


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
        raise ValidationError(gettext("Upload a PNG, JPEG or WebP image."), code="not_an_image") from None
    if format_ not in UPLOAD_FORMATS:
        raise ValidationError(gettext("Upload a PNG, JPEG or WebP image."), code="not_an_image")
    file.seek(0)
    image = InputImage(owner=user, width=width, height=height)
    name = getattr(file, "name", "") or f"input{image_files.FORMATS[format_]}"
    image.file.save(name.rsplit("/", 1)[-1], file, save=False)
    image.save()
    return image


def input_image_from_history(*, user, image: GeneratedImage) -> InputImage:
    """Use a generated image the user may see (their own, or a teammate's shared one) as init or ControlNet
    image (no copy of the file)."""
    from library.selectors import images_visible_to

    if not images_visible_to(user).filter(pk=image.pk).exists():
        raise PermissionDenied(gettext("Not an image you can see."))
    if not image.file:
        raise ValidationError(
            gettext("This image has not been downloaded yet; try again in a moment."), code="not_stored"
        )
    return InputImage.objects.create(owner=user, source_image=image, width=image.width, height=image.height)


# --- Sending (the engine's submit lane) ----------------------------------------------------------------------


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
        with image_files.vendor_ready_jpeg(handle, max_bytes=UPLOAD_MAX_BYTES) as converted:
            return client.upload_img((name.rsplit(".", 1)[0] + ".jpg", converted))


def task_fail(task_pk: int, message: str, *, from_states=(State.SUBMITTING,), **extra) -> bool:
    """Fail a task that is still in one of ``from_states`` (a conditional UPDATE: True when it moved). The reason is
    stored in English whatever language is active (a lazy message included), shown translated (|stored_message)."""
    return bool(
        GenerationTask.objects.filter(pk=task_pk, state__in=from_states).update(
            state=State.FAILED, error_message=english(message), finished_at=timezone.now(), **extra
        )
    )


def _send_later(task: GenerationTask, claimed_at, exc: UpstreamError) -> str:
    """The vendor surely did nothing: back to the queue after a pause (1, 2, 4 … 30 s: GENERATION_SUBMIT_RETRY_SECONDS
    doubling), or failed with the reason after the last attempt (``GENERATION_SUBMIT_RETRIES``)."""
    attempts = int(settings.GENERATION_SUBMIT_RETRIES)
    attempt = task.submit_attempts + 1
    reason = unsent_message(exc)
    mine = GenerationTask.objects.filter(pk=task.pk, state=State.SUBMITTING, claimed_at=claimed_at)
    if attempt >= attempts:
        mine.update(state=State.FAILED, error_message=reason, finished_at=timezone.now(), submit_attempts=attempt)
        return "failed"
    delay = min(float(settings.GENERATION_SUBMIT_RETRY_SECONDS) * 2.0 ** (attempt - 1), MAX_RETRY_DELAY_SECONDS)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        delay = max(delay, min(float(retry_after), MAX_RETRY_DELAY_SECONDS * 2))
    mine.update(
        state=State.QUEUED,
        claimed_at=None,
        submit_attempted_at=None,
        submit_attempts=attempt,
        retry_at=timezone.now() + timedelta(seconds=delay),
        retry_reason=english(RETRYING, reason=reason.split(" — ")[0] + ".", attempt=attempt + 1, attempts=attempts),
    )
    logger.info("generation: task #%s not taken (%s); again in %.0f s", task.pk, exc, delay)
    return "retry"


def generation_send(*, task_id: int) -> str:
    """Claim a queued task, upload its input images, call task_submit once. Returns what happened in a word.

    Safe to run twice and against a recovery running at the same time: only one run claims the task, the
    attempt is recorded (fenced by the claim) before the vendor is called, and a task that may have reached
    the vendor is never sent again."""
    claimed_at = timezone.now()
    claimed = (
        GenerationTask.objects.filter(pk=task_id, state=State.QUEUED)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=claimed_at))
        .update(state=State.SUBMITTING, claimed_at=claimed_at)
    )
    if claimed != 1:
        return "not queued"
    task = GenerationTask.objects.select_related("owner", "upstream_account").get(pk=task_id)
    account = account_for_user(task.owner)
    if account is None:
        was_team = task.upstream_account is not None and task.upstream_account.is_team
        task_fail(task.pk, TEAM_ACCOUNT_REFUSED if was_team else NOT_CONNECTED)
        return "failed"
    if task.upstream_account_id != account.pk:
        GenerationTask.objects.filter(pk=task.pk).update(upstream_account=account)
    client = client_for_account(account)
    client.max_retries = 0  # no thread sleeps on the vendor: a refusal goes back to the queue instead
    try:
        sent = copy.deepcopy(task.params)
        try:
            urls = {ref: _upload_input(client, owner_id=task.owner_id, reference=ref) for ref in _input_refs(sent)}
        except _InputMissing:
            task_fail(task.pk, INPUT_MISSING)
            return "failed"
        except UpstreamError as exc:
            if surely_not_done(exc) or isinstance(exc, UpstreamUnavailable):
                return _send_later(task, claimed_at, exc)  # nothing was submitted: an upload can be repeated
            task_fail(task.pk, exc.user_message)
            return "failed"
        if sent.get("init_img") in urls:
            sent["init_img"] = urls[sent["init_img"]]
        for unit in sent.get("cn_configs") or []:
            if isinstance(unit, dict) and unit.get("img") in urls:
                unit["img"] = urls[unit["img"]]
        sent.pop("token", None)
        # From here on the vendor may know the task: recorded first, so a crash is never followed by a resend.
        if not GenerationTask.objects.filter(pk=task.pk, state=State.SUBMITTING, claimed_at=claimed_at).update(
            params_sent=sent, submit_attempted_at=timezone.now()
        ):
            return "lost"  # the recovery took it back meanwhile
        try:
            upstream_id = client.task_submit(sent)
        except UpstreamError as exc:
            if surely_not_done(exc):
                return _send_later(task, claimed_at, exc)
            task_fail(task.pk, NO_ANSWER if outcome_unknown(exc) else exc.user_message)
            return "failed"
    finally:
        client.close()
    moved = GenerationTask.objects.filter(pk=task.pk, state=State.SUBMITTING).update(
        state=State.PENDING, upstream_task_id=upstream_id, submitted_at=timezone.now(), retry_reason=""
    )
    if not moved:  # the recovery gave up on it meanwhile: keep the vendor's id so the task can still be found
        GenerationTask.objects.filter(pk=task.pk, upstream_task_id="").update(upstream_task_id=upstream_id)
        return "lost"
    return "pending"


def _send(slot, *, task_id: int) -> str:
    """``generation_send`` with a slot of its account's submission window (taken by the engine)."""
    return generation_send(task_id=task_id)


@engine.register
class SubmitSource(engine.Source):
    """Queued tasks, each sent by ``generation_send`` in the submit lane, in turn between the members of each
    Miaohua account: every member's oldest, then every member's second oldest, … (a member's 300 tasks do not
    hold back another member's one), through the account's submission window (``account_submit_window``).

    One query a look, whatever the queue's length: each (account, member)'s oldest few queued tasks, numbered by
    a window function. Of each account only ``PER_ACCOUNT`` tasks are planned at a time (running, or waiting in
    the engine's heap for the window), so the next one is chosen again from the database when one is done, and
    a newcomer's task is among the next sent whatever is waiting. Within a turn the member served longest ago
    goes first (remembered here, in memory)."""

    name = "generation-submit"
    lane = "submit"
    every = 0.2
    idle_every = 0.5
    PER_ACCOUNT = 3

    def __init__(self) -> None:
        super().__init__()
        self.planned: dict[int | None, set[int]] = {}  # account id → its tasks planned or running
        self.served: dict[tuple, int] = {}  # (account id, owner id) → when their last task was planned (a count)
        self._serving = itertools.count(1)
        self.windows: dict[int, object] = {}

    def _window(self, account_id: int):
        if account_id not in self.windows:
            self.windows[account_id] = account_submit_window(account_id)
        return self.windows[account_id]

    def collect(self, now: float):
        rows = queue_turns(depth=2 * self.PER_ACCOUNT)  # the planned ones may still be queued: look past them
        if not rows:
            self.busy = any(self.planned.values()) or GenerationTask.objects.filter(state=State.QUEUED).exists()
            return []
        self.busy = True
        by_account: dict[int | None, list[tuple]] = {}
        for pk, owner_id, account_id, turn in rows:  # in (turn, created_at, id) order already
            by_account.setdefault(account_id, []).append((pk, owner_id, turn))
        work = []
        for account_id, queued in by_account.items():
            planned = self.planned.setdefault(account_id, set())
            # Within a turn, the member served longest ago goes first (a member whose oldest was just sent has a
            # new "oldest" of the same turn: without this they would go first again, being older).
            queued.sort(key=lambda row: (row[2], self.served.get((account_id, row[1]), 0)))  # stable: then by age
            for pk, owner_id, _turn in queued:
                if len(planned) >= self.PER_ACCOUNT:
                    break
                if pk in planned:
                    continue
                planned.add(pk)
                self.served[(account_id, owner_id)] = next(self._serving)
                work.append(
                    engine.Work(
                        key=("generation-submit", pk),
                        # A task without an account fails at once: no window to wait for.
                        run=partial(_send if account_id is not None else generation_send, task_id=pk),
                        limiter=self._window(account_id) if account_id is not None else None,
                        done=partial(self._sent, account_id, pk),
                    )
                )
        return work

    def _sent(self, account_id, pk, result) -> None:
        self.planned.get(account_id, set()).discard(pk)


def queue_turns(*, depth: int, account_id: int | None = None, due_only: bool = True):
    """The queued tasks in the order they go out, per account: (pk, owner id, account id, turn), where ``turn``
    is the task's place in its member's own queue (1 = their oldest), each account's rows ordered by (turn,
    created_at, id) — every member's oldest, then every member's second oldest, …; at most ``depth`` turns per
    member. One query (a window function)."""
    queued = GenerationTask.objects.filter(state=State.QUEUED)
    if due_only:
        queued = queued.filter(Q(retry_at__isnull=True) | Q(retry_at__lte=timezone.now()))
    if account_id is not None:
        queued = queued.filter(upstream_account_id=account_id)
    return list(
        queued.annotate(
            turn=Window(
                RowNumber(), partition_by=[F("upstream_account_id"), F("owner_id")], order_by=[F("created_at"), F("id")]
            )
        )
        .filter(turn__lte=depth)
        .order_by(F("upstream_account_id").asc(nulls_first=True), "turn", "created_at", "id")
        .values_list("pk", "owner_id", "upstream_account_id", "turn")
    )


__all__ = [
    "generation_retry",
    "generation_send",
    "generation_submit",
    "input_image_create",
    "input_image_from_history",
    "task_columns",
    "task_fail",
]
