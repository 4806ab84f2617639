"""What leaves the studio as a file: a ZIP of tasks' images with a JSON sidecar each, and the history as JSON
or CSV. Callers pass querysets that already start from the user (selectors.tasks_visible_to / own_tasks), so
nothing here decides who sees what. Neither builder holds the whole answer in memory."""

import csv
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO

from django.conf import settings
from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from generation.models import GeneratedImage, GenerationTask
from library import parameters

ZIP_MAX_TASKS = 200
EXPORT_COLUMNS = [
    "id",
    "created_at",
    "state",
    "kind",
    "model",
    "versionid",
    "prompt",
    "neg_prompt",
    "n_images",
    "output_size",
    "seed",
    "lora",
    "controlnets",
    "image_count",
    "error",
]


# --- ZIP ----------------------------------------------------------------------------------------------------


def _extension(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return ext if ext else ".png"


def image_sidecar(task: GenerationTask, image: GeneratedImage) -> dict:
    """The parameters of the task that made ``image``, as the vendor received them."""
    return {
        "task_id": task.pk,
        "save_index": image.save_index,
        "created_at": timezone.localtime(task.created_at).isoformat(),
        "owner": task.owner.get_username(),
        "model": task.model_name,
        "versionid": task.versionid,
        "seed": image.seed if image.seed is not None else task.select_seed,
        "width": image.width,
        "height": image.height,
        "prompt": task.prompt,
        "neg_prompt": task.neg_prompt,
        "params": _params_with_own_references(task),
    }


def _params_with_own_references(task: GenerationTask) -> dict:
    """The parameters as sent, but an input image named by our own reference ("input:<id>", as the task keeps
    it), never by the vendor's signed upload link: that expires, and it opens the image to anyone holding it."""
    if task.params_sent is None:
        return task.params
    sent = json.loads(json.dumps(task.params_sent))  # a copy
    ours = task.params or {}
    if "init_img" in sent:
        sent["init_img"] = ours.get("init_img", "")
    own_units = ours.get("cn_configs") or []
    for index, unit in enumerate(sent.get("cn_configs") or []):
        if isinstance(unit, dict) and "img" in unit:
            own = own_units[index] if index < len(own_units) and isinstance(own_units[index], dict) else {}
            unit["img"] = own.get("img", "")
    return sent


def zip_tasks(tasks: QuerySet[GenerationTask]) -> IO[bytes]:
    """A ZIP of every stored image of ``tasks`` as ``<task id>-<save_index>.<ext>`` beside a
    ``<task id>-<save_index>.json`` sidecar, written to a temporary file (deleted when closed) and
    returned open at its start. Images are stored as they are (they are compressed already)."""
    stored = GeneratedImage.objects.exclude(file="").order_by("save_index")
    tasks = tasks.select_related("owner").prefetch_related(Prefetch("images", queryset=stored))
    handle = tempfile.TemporaryFile(dir=getattr(settings, "FILE_UPLOAD_TEMP_DIR", None))
    try:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
            for task in tasks:
                for image in task.images.all():
                    stem = f"{task.pk}-{image.save_index}"
                    try:
                        source = parameters.original_with_parameters(image, task)
                    except FileNotFoundError:  # purged meanwhile: the sidecar alone would mislead
                        continue
                    with source, archive.open(stem + _extension(image.file.name), "w") as target:
                        shutil.copyfileobj(source, target, 64 * 1024)
                    sidecar = json.dumps(image_sidecar(task, image), ensure_ascii=False, indent=2)
                    archive.writestr(stem + ".json", sidecar, compress_type=zipfile.ZIP_DEFLATED)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


# --- History export -----------------------------------------------------------------------------------------


def export_queryset(tasks: QuerySet[GenerationTask]) -> QuerySet[GenerationTask]:
    return tasks.annotate(image_count=Count("images")).order_by("-created_at", "-id")


def export_row(task: GenerationTask) -> dict:
    return {
        "id": task.pk,
        "created_at": timezone.localtime(task.created_at).isoformat(),
        "state": task.state,
        "kind": task.kind,
        "model": task.model_name,
        "versionid": task.versionid,
        "prompt": task.prompt,
        "neg_prompt": task.neg_prompt,
        "n_images": task.n_images,
        "output_size": task.output_size,
        "seed": task.select_seed,
        "lora": task.lora_versionid,
        "controlnets": task.cn_types,
        "image_count": task.image_count,
        "error": task.error_message,
    }


def _rows(tasks: QuerySet[GenerationTask]) -> Iterator[GenerationTask]:
    return export_queryset(tasks).iterator(chunk_size=500)


def json_lines(tasks: QuerySet[GenerationTask]) -> Iterator[str]:
    """A JSON list of objects (one per task, with the params as asked), yielded a task at a time."""
    yield "["
    for number, task in enumerate(_rows(tasks)):
        row = {**export_row(task), "params": task.params}
        yield ("," if number else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]\n"


class _Line:
    """csv.writer writes into this and gets the line back (the Django docs' "Echo" pattern)."""

    def write(self, value: str) -> str:
        return value


# A cell starting with one of these is a formula to spreadsheet programs (CSV injection): quote it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_lines(tasks: QuerySet[GenerationTask]) -> Iterator[str]:
    """A header and one row per task, yielded a row at a time."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)  # the BOM makes spreadsheet programs read UTF-8
    for task in _rows(tasks):
        row = export_row(task)
        yield writer.writerow([_cell(row[column]) for column in EXPORT_COLUMNS])


def export_filename(extension: str, *, when=None) -> str:
    return f"miaohua-history-{timezone.localtime(when or timezone.now()):%Y%m%d-%H%M}.{extension}"


def zip_filename(*, when=None) -> str:
    return f"miaohua-images-{timezone.localtime(when or timezone.now()):%Y%m%d-%H%M}.zip"
