"""Generation tasks: task_submit, task_result(s) and the pictures, all computed from timestamps.

A task is `pending` (images [], a `wait_time` in seconds) until MIAOHUA_SIMULATOR_TASK_SECONDS after it
was submitted, then `done`, or `failed` with a non-empty `error_msg` when its prompt contains
MIAOHUA_SIMULATOR_FAIL_MARKER. No background process is involved."""

import hashlib
import math
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import F
from PIL import Image

from miaohua_site.simulator import clock, db, links, render
from miaohua_site.simulator.errors import ApiError
from miaohua_site.simulator.models import SimAccount, SimTask, SimUpload, as_uuid
from miaohua_site.simulator.services import uploads
from miaohua_site.simulator.validation import SubmitParams

PROMPT_REWRITE = ", masterpiece, best quality, highly detailed"  # add_prompt: the "LLM" rewrite
MAX_SEED = 9_999_999


def task_submit(*, account: SimAccount, params: SubmitParams) -> SimTask:
    """Queue a task, or refuse by the account's limits: 123 too many running, 124 not enough credits."""
    now = clock.now()
    task_id = uuid.uuid4()
    seed = params.select_seed
    if seed == -1:  # random, but derived from the task so it is reported the same way on every poll
        seed = int.from_bytes(hashlib.sha256(task_id.bytes).digest()[:8], "big") % (MAX_SEED + 1)
    marker = settings.MIAOHUA_SIMULATOR_FAIL_MARKER
    fails = bool(marker) and marker.lower() in params.prompt.lower()
    stored = {
        "task_type": params.task_type,
        "versionid": params.base.versionid,
        "model_name": params.base.model_name,
        "prompt": params.prompt + (PROMPT_REWRITE if params.add_prompt else ""),
        "neg_prompt": params.neg_prompt,
        "scale": params.scale,
        "strength": params.strength,
        "ddim_steps": params.ddim_steps,
        "width": params.width,
        "height": params.height,
        "add_prompt": params.add_prompt,
        "init": str(params.init.id) if params.init else None,
        "controls": [
            {
                "cn": unit.cn,
                "weight": unit.weight,
                "guidance_start": unit.guidance_start,
                "guidance_end": unit.guidance_end,
                "upload": str(unit.upload.id),
                "config": unit.config,
            }
            for unit in params.controls
        ],
        # Only one LoRA layer takes effect (the vendor's note): the first.
        "loras": [
            {"versionid": lora.versionid, "model_name": lora.model_name, "merge_weight": weight}
            for lora, weight in params.loras[:1]
        ],
    }
    with db.atomic():
        if account.max_running_tasks is not None:
            running = SimTask.objects.filter(owner=account, ready_at__gt=now).count()
            if running >= account.max_running_tasks:
                raise ApiError(123, f"too many running tasks: {running}, at most {account.max_running_tasks}")
        if account.credits is not None:
            n = params.n_images
            if not SimAccount.objects.filter(pk=account.pk, credits__gte=n).update(credits=F("credits") - n):
                raise ApiError(124, f"balance too low: {n} image(s) need {n} credit(s)")
        return SimTask.objects.create(
            id=task_id,
            owner=account,
            task_type=params.task_type,
            versionid=params.base.versionid,
            prompt=params.prompt,
            params=stored,
            n_images=params.n_images,
            width=params.width,
            height=params.height,
            seed=seed,
            error_msg=f"Intern error: simulated failure ({marker[:60]!r} in the prompt)" if fails else "",
            created_at=now,
            ready_at=now + timedelta(seconds=float(settings.MIAOHUA_SIMULATOR_TASK_SECONDS)),
        )


def task_get(*, account: SimAccount, task_id) -> SimTask:
    """One of `account`'s tasks; another account's task is as unknown as a made-up id (106)."""
    key = as_uuid(task_id)
    task = SimTask.objects.filter(id=key, owner=account).first() if key else None
    if task is None:
        raise ApiError(106, f"task_id {task_id!r} does not exist")
    return task


def tasks_for(*, account: SimAccount, task_ids: list) -> list[SimTask]:
    """`account`'s tasks among `task_ids`, unknown ones left out, in no promised order (the id's)."""
    keys = {key for key in map(as_uuid, task_ids) if key}
    return list(SimTask.objects.filter(owner=account, id__in=keys).order_by("id"))


def task_state(task: SimTask) -> str:
    if clock.now() < task.ready_at:
        return "pending"
    return "failed" if task.error_msg else "done"


def task_answer(request, task: SimTask, *, batch: bool) -> dict:
    """task_result's answer for one task; `batch` gives task_results' image shape."""
    state = task_state(task)
    images = []
    if state == "done":
        for index in range(task.n_images):
            large, middle = (
                task_image_url(request, task, index, "large"),
                task_image_url(request, task, index, "middle"),
            )
            if batch:
                images.append(
                    {
                        "task_id": str(task.id),
                        "task_type": task.task_type,
                        "large": large,
                        "middle": middle,
                        "small": task_image_url(request, task, index, "small"),
                        "save_index": index,
                    }
                )
            else:
                images.append(
                    {"large": large, "middle": middle, "save_index": index, "share": False, "shareable": True}
                )
    remaining = (task.ready_at - clock.now()).total_seconds()
    return {
        "state": state,
        "images": images,
        "select_seed": task.seed,
        "error_msg": task.error_msg if state == "failed" else "",
        "wait_time": max(1, math.ceil(remaining)) if state == "pending" else 0,
    }


def task_image_url(request, task: SimTask, index: int, variant: str) -> str:
    return links.signed(request, "task_file", task_id=task.id, index=index, variant=variant)


def task_image_key(task: SimTask, index: int) -> str:
    # Not the task id: the same parameters and seed make the same picture in any task.
    return render.key_for({"params": task.params, "seed": task.seed, "index": index})


def task_image_file(task: SimTask, index: int, variant: str) -> Path:
    params = task.params

    def make_large() -> Image.Image:
        init = None
        if params["init"]:
            init = uploads.upload_image(SimUpload.objects.get(id=params["init"]))
        controls = [
            (unit["cn"], uploads.upload_image(SimUpload.objects.get(id=unit["upload"]))) for unit in params["controls"]
        ]
        model = params["model_name"] + "".join(
            f" + LoRA {lora['model_name']} ({lora['merge_weight']:g})" for lora in params["loras"]
        )
        lines = [
            f"prompt: {params['prompt']}",
            f"seed {task.seed} · image #{index} · {task.width}x{task.height} · scale {params['scale']}"
            f" · steps {params['ddim_steps']}",
            f"{params['task_type']} · {model}",
        ]
        if params["controls"]:
            lines.append("ControlNet: " + ", ".join(f"{u['cn']} ({u['weight']:g})" for u in params["controls"]))
        return render.compose(
            key=task_image_key(task, index),
            width=task.width,
            height=task.height,
            title="SIMULATED",
            lines=lines,
            init=init,
            strength=params["strength"],
            controls=controls,
        )

    return render.cached(task_image_key(task, index), variant, make_large)


def image_caption(*, account: SimAccount, url) -> str | None:
    """img2txt: a caption from the picture itself, for links issued to `account`; None otherwise."""
    upload = uploads.upload_from_url(account, url)
    if upload is not None:
        return f"a {upload.width}x{upload.height} picture, mostly {upload.colour}"
    found = uploads.task_image_from_url(account, url)
    if found is None or task_state(found[0]) != "done":
        return None
    task, index = found
    with Image.open(task_image_file(task, index, "small")) as small:
        colour = render.dominant_colour(small)
    return (
        f"a {task.width}x{task.height} simulated picture, mostly {colour}, "
        f'rendered from the prompt "{task.params["prompt"]}" with seed {task.seed}'
    )
