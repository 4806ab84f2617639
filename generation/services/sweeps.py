"""What is done with a stored X/Y/Z sweep (issue #13): cancelling what is not sent yet, and its grid as one PNG.

Cancelling is one conditional UPDATE ``… WHERE state='queued'``: the submit lane claims a task with its own
``UPDATE … WHERE state='queued'``, so a task is either claimed (and sent) or cancelled, never both."""

import io
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop
from PIL import Image, ImageDraw, ImageFont

from generation.models import GenerationTask, TaskGroup
from miaohua_site.i18n import english

State = GenerationTask.State

CANCELLED = gettext_noop("Cancelled before it was sent.")

CELL = 256  # px, each cell of the downloaded grid
PAD = 8
LABEL_HEIGHT = 40  # the X labels' row
TITLE_HEIGHT = 44  # the Z value's title
LABEL_WIDTH = 180  # the Y labels' column
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


def group_cancel(group: TaskGroup) -> int:
    """Cancel a sweep or batch: its tasks still queued fail at once ("Cancelled before it was sent."), those
    already sent keep going. Returns how many were cancelled."""
    now = timezone.now()
    with transaction.atomic():
        cancelled = GenerationTask.objects.filter(group=group, state=State.QUEUED).update(
            state=State.FAILED, error_message=english(CANCELLED), finished_at=now, retry_at=None, retry_reason=""
        )
        TaskGroup.objects.filter(pk=group.pk, cancelled_at__isnull=True).update(cancelled_at=now)
    group.cancelled_at = group.cancelled_at or now
    return cancelled


# --- The grid as one PNG ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _font_path() -> str | None:
    """A font that draws Chinese when the machine has one (Noto CJK, WenQuanYi), else a plain sans, else none."""
    for path in CJK_FONTS:
        if Path(path).exists():
            return path
    if shutil.which("fc-match"):
        for pattern in ("sans-serif:lang=zh-cn", "sans-serif"):
            try:
                found = subprocess.run(
                    ["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, timeout=5, check=False
                ).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                continue
            if found and Path(found).exists():
                return found
    return None


def _font(size: int):
    path = _font_path()
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def _fit(draw, text: str, font, width: int) -> str:
    """The text, cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _cell_picture(task: GenerationTask | None) -> Image.Image | None:
    if task is None:
        return None
    for image in task.images.all():
        for field in (image.thumbnail, image.preview, image.file):
            if not field:
                continue
            try:
                with field.open("rb") as handle, Image.open(handle) as picture:
                    picture = picture.convert("RGB")
                    picture.thumbnail((CELL, CELL))
                    return picture
            except (OSError, ValueError):
                continue
        return None
    return None


def grid_size(n_x: int, n_y: int, n_z: int) -> tuple[int, int]:
    """The PNG's size: the cells (with their padding) and the labels around them, a block per Z value."""
    width = LABEL_WIDTH + n_x * (CELL + PAD) + PAD
    block = TITLE_HEIGHT + LABEL_HEIGHT + n_y * (CELL + PAD) + PAD
    return width, block * n_z


def grid_png(grid) -> bytes:
    """The sweep's grid (generation.selectors_sweeps.SweepGrid) as one PNG: each cell the task's first stored
    image, the X values on top, the Y values on the left and each Z value as a block's title."""
    n_x, n_y, n_z = len(grid.x_labels), len(grid.y_labels), len(grid.blocks)
    width, height = grid_size(n_x, n_y, n_z)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    title_font, label_font, note_font = _font(22), _font(16), _font(14)
    block_height = height // max(n_z, 1)
    for z, block in enumerate(grid.blocks):
        top = z * block_height
        if block.title:
            draw.text(
                (PAD, top + 10), _fit(draw, block.title, title_font, width - 2 * PAD), fill="black", font=title_font
            )
        corner = " ╲ ".join(t for t in (getattr(grid, "y_title", ""), getattr(grid, "x_title", "")) if t)
        if corner:  # which setting runs down, which across
            draw.text(
                (PAD, top + TITLE_HEIGHT + 10),
                _fit(draw, corner, note_font, LABEL_WIDTH - 2 * PAD),
                fill="#555555",
                font=note_font,
            )
        for x, label in enumerate(grid.x_labels):
            left = LABEL_WIDTH + PAD + x * (CELL + PAD)
            draw.text(
                (left, top + TITLE_HEIGHT + 10), _fit(draw, label, label_font, CELL), fill="black", font=label_font
            )
        for y, row in enumerate(block.rows):
            row_top = top + TITLE_HEIGHT + LABEL_HEIGHT + y * (CELL + PAD)
            draw.text(
                (PAD, row_top + CELL // 2 - 10),
                _fit(draw, grid.y_labels[y], label_font, LABEL_WIDTH - 2 * PAD),
                fill="black",
                font=label_font,
            )
            for x, cell in enumerate(row.cells):
                left = LABEL_WIDTH + PAD + x * (CELL + PAD)
                box = (left, row_top, left + CELL - 1, row_top + CELL - 1)
                picture = _cell_picture(cell.task)
                if picture is None:
                    draw.rectangle(box, fill="#eeeeee", outline="#cccccc")
                    state = cell.task.get_state_display() if cell.task is not None else "—"
                    draw.text((left + 10, row_top + 10), str(state), fill="#555555", font=note_font)
                else:
                    canvas.paste(picture, (left + (CELL - picture.width) // 2, row_top + (CELL - picture.height) // 2))
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


# --- The estimate, before it runs ---------------------------------------------------------------------------


class Estimate:
    """What the form would make (tasks, images), what that takes from the member's quotas, or why it is refused;
    and the sweep's own messages while its values are wrong."""

    def __init__(self, *, n_tasks=0, n_images=0, n_cells=1, errors=(), takes=(), refusal="", counted=True):
        self.n_tasks, self.n_images, self.n_cells = n_tasks, n_images, n_cells
        self.errors, self.takes, self.refusal, self.counted = list(errors), list(takes), refusal, counted


def _raw_int(data, name, default, low, high) -> int:
    try:
        return min(max(int(data.get(name, default)), low), high)
    except (TypeError, ValueError):
        return default


def sweep_estimate(*, user, data, cats) -> Estimate:
    """Count what the posted Generate form would store, without storing or sending anything (no vendor call:
    the catalogs come from the cache). The planning steps run on the form as posted (styles → batch → sweep);
    while the Generate form itself is incomplete (a prompt still being typed, an image not uploaded yet) the
    sweep's cells × the images asked for are counted."""
    from generation import planning, sweeps
    from generation.forms import GenerateForm
    from generation.plans import TaskPlan
    from generation.submission import params_from_form
    from team.services import quotas

    form = GenerateForm(data, **cats.form_kwargs())
    extras = planning.extra_forms(data, user=user, cats=cats)
    sweep = extras["sweep"]
    extras_valid = all([f.is_valid() for f in extras.values()])
    errors = [str(message) for messages in sweep.errors.values() for message in messages]
    if errors:
        return Estimate(errors=errors, counted=False)
    plan = None
    units = [key for key in data if key.startswith("cn-") and key.endswith("-cn") and data.get(key)]
    if extras_valid and _base_valid(form):
        params = params_from_form(form, "input:0", [])
        if units:  # what a ControlNet weight axis needs; no image is resolved for an estimate
            params["cn_configs"] = [{"cn": data.get(key), "weight": 1.0} for key in units]
        model = form.selected_model
        plan = planning.plan_from_form(
            user=user, form=form, extras=extras, params=params, model_name=model.model_name if model else ""
        )
        errors = [str(m) for f in (form, *extras.values()) for messages in f.errors.values() for m in messages]
        if plan is None:
            return Estimate(errors=errors, counted=False)
    if plan is None:
        n_images = _raw_int(data, "n_images", 2, 1, 8)
        params = {"n_images": n_images, "select_seed": 0, "prompt": data.get("prompt", "")}
        plan = sweeps.expand(sweep, form=form, tasks=[TaskPlan(params=params)], seed_picker=lambda: 0)
        if plan is None:
            return Estimate(errors=[str(m) for messages in sweep.errors.values() for m in messages], counted=False)
    estimate = Estimate(n_tasks=plan.n_tasks, n_images=plan.n_images, n_cells=sweep.n_cells)
    status = quotas.quota_status(user)
    if status.limits.any:
        refused = quotas.refusal_for(status, n_tasks=plan.n_tasks, n_images=plan.n_images)
        if refused is not None:
            estimate.refusal = str(refused.message)
        else:
            estimate.takes = [quota for quota in (status.day, status.month) if quota is not None]
    return estimate


def _base_valid(form) -> bool:
    """The Generate form is valid but for its images (an estimate posts no files)."""
    form.is_valid()
    return not (set(form.errors) - {"init_image", "init_image_input", "init_image_from"})
