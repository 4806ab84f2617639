"""The vendor's 20 endpoints (digest order) and the simulator's file links. Each view reads the call's
fields and hands them to a service; api.endpoint does the rest (see api.py)."""

from django.http import FileResponse, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from miaohua_site.simulator import catalog, faults, links, render, stats
from miaohua_site.simulator.api import Call, Reply, endpoint, error_answer
from miaohua_site.simulator.errors import PARAMETER_ERROR, ApiError, illegal, require
from miaohua_site.simulator.models import SimModel, SimTask, SimUpload
from miaohua_site.simulator.ratelimit import ratelimit_allow
from miaohua_site.simulator.services import accounts, catalogs, datasets, generation, training, uploads
from miaohua_site.simulator.validation import number_in, task_submit_params

TASK_RESULTS_MAX_IDS = 50
TASK_RESULTS_PER_SECOND = 6


# --- Authentication


@endpoint("get_token", auth=None)
def get_token(call: Call) -> Reply:
    token = accounts.token_issue(email=require(call.body, "email"), password=require(call.body, "password"))
    return Reply(info=token, bare={"token": token})


# --- Generation


@endpoint("task_submit")
def task_submit(call: Call) -> Reply:
    params = task_submit_params(call.account, call.body)
    task = generation.task_submit(account=call.account, params=params)
    return Reply(info={"task_id": str(task.id)}, bare={"task_id": str(task.id)})


def _sensitive_limit(body: dict) -> None:
    if body.get("sensitive_limit_value") is not None:
        number_in(body["sensitive_limit_value"], "sensitive_limit_value", 0, 1)


@endpoint("task_result")
def task_result(call: Call) -> Reply:
    task_id = require(call.body, "task_id", hint="the id task_submit answered")
    if not isinstance(task_id, str):
        raise illegal(f"task_id must be a string (the id task_submit answered), got {task_id!r}")
    _sensitive_limit(call.body)
    task = generation.task_get(account=call.account, task_id=task_id)
    answer = generation.task_answer(call.request, task, batch=False)
    return Reply(info=answer, bare=answer)


@endpoint("task_results")
def task_results(call: Call) -> Reply:
    task_ids = call.body.get("task_ids")
    call.n_ids = len(task_ids) if isinstance(task_ids, list) else None
    if not ratelimit_allow(token_key=call.token.key, endpoint="task_results", limit=TASK_RESULTS_PER_SECOND):
        raise ApiError(
            429, f"too many requests: task_results allows {TASK_RESULTS_PER_SECOND} calls per second"
        )
    require(call.body, "task_ids", hint="a list of the ids task_submit answered")
    if not isinstance(task_ids, list) or not all(isinstance(i, str) for i in task_ids):
        raise illegal("task_ids must be a list of task id strings")
    if len(task_ids) > TASK_RESULTS_MAX_IDS:
        raise illegal(f"task_ids: at most {TASK_RESULTS_MAX_IDS} ids per call, got {len(task_ids)}")
    _sensitive_limit(call.body)
    tasks = generation.tasks_for(account=call.account, task_ids=task_ids)
    return Reply(info=[generation.task_answer(call.request, task, batch=True) for task in tasks])


@endpoint("img2txt")
def img2txt(call: Call) -> Reply:
    url = require(call.body, "init_img", hint="an image URL from upload_img(s)")
    if not isinstance(url, str):
        raise illegal(f"init_img must be an image URL from upload_img(s), got {url!r}")
    caption = generation.image_caption(account=call.account, url=url)
    if caption is None:
        raise illegal("init_img is not an image this simulator issued to this account")
    return Reply(info=caption)


@endpoint("get_generation_form", method="GET", auth=None)
def get_generation_form(call: Call) -> Reply:
    return Reply(info=catalog.generation_form())


# --- Catalogs


@endpoint("models/base")
def models_base(call: Call) -> Reply:
    return Reply(
        info=catalogs.models_page(call.request, account=call.account, kind=SimModel.Kind.BASE, body=call.body)
    )


@endpoint("models/lora")
def models_lora(call: Call) -> Reply:
    return Reply(
        info=catalogs.models_page(call.request, account=call.account, kind=SimModel.Kind.LORA, body=call.body)
    )


@endpoint("models/private")
def models_private(call: Call) -> Reply:
    page = catalogs.models_page(
        call.request, account=call.account, kind=SimModel.Kind.PRIVATE, body=call.body
    )
    return Reply(info=page)


@endpoint("cn/artist")
def cn_artist(call: Call) -> Reply:
    return Reply(info=catalogs.cn_list(call.request, "artist"))


@endpoint("cn/opensource")
def cn_opensource(call: Call) -> Reply:
    return Reply(info=catalogs.cn_list(call.request, "opensource"))


# --- Uploads


@endpoint("upload_img", auth="bearer")
def upload_img(call: Call) -> Reply:
    files = call.request.FILES.getlist("init_img")
    if len(files) > 1:
        raise illegal(f"init_img: upload_img takes one file, got {len(files)}; use upload_imgs for several")
    stored = uploads.uploads_store(account=call.account, files=files)
    return Reply(info=[uploads.upload_url(call.request, u) for u in stored])


@endpoint("upload_imgs", auth="bearer")
def upload_imgs(call: Call) -> Reply:
    stored = uploads.uploads_store(account=call.account, files=call.request.FILES.getlist("init_img"))
    return Reply(info=[uploads.upload_url(call.request, u) for u in stored])


# --- Datasets and training


@endpoint("dataset")
def dataset(call: Call) -> Reply:
    created = datasets.dataset_create(account=call.account, body=call.body)
    return Reply(info={"dataset_id": created.id})


@endpoint("dataset_all")
def dataset_all(call: Call) -> Reply:
    page = call.request.GET.get("page", call.body.get("page"))
    answer = datasets.datasets_page(call.request, account=call.account, page=page)
    return Reply(info=answer, bare=answer)


@endpoint("dataset/add_images")
def dataset_add_images(call: Call) -> Reply:
    datasets.dataset_add_images(account=call.account, body=call.body)
    return Reply(info="", msg="OK")


@endpoint("dataset/delete_images")
def dataset_delete_images(call: Call) -> Reply:
    datasets.dataset_delete_images(account=call.account, body=call.body)
    return Reply(info="", msg="OK")


@endpoint("train_submit")
def train_submit(call: Call) -> Reply:
    job = training.training_submit(account=call.account, body=call.body)
    return Reply(info={"task_id": str(job.id)})


@endpoint("train_progress")
def train_progress(call: Call) -> Reply:
    task_id = require(call.body, "task_id", code=PARAMETER_ERROR, hint="the id train_submit answered")
    job = training.training_get(account=call.account, task_id=task_id)
    state, progress = training.training_state(job)
    if state == "done":
        training.training_private_model(job)
    answer = {
        "create_time": datasets.format_time(job.created_at),
        "description": job.description,
        "main_body": job.main_body,
        "model_name": training.trained_model_name(job.name),
        "state": state,
        "training_progress": progress,
        "trigger_word": job.trigger_word,
    }
    if state == "failed":  # the document's answer has exactly the keys above; a failure says why
        answer["error_msg"] = "Intern error: simulated training failure"
    return Reply(info=answer, bare=answer)


@endpoint("get_train_form", method="GET", auth=None)
def get_train_form(call: Call) -> Reply:
    return Reply(info=catalog.train_form())


@csrf_exempt
def unknown_endpoint(request, name: str):
    return error_answer(ApiError(403, f"no endpoint api/v1b/{name}", http_status=404))


# --- File links (signed, expiring; no token, like the vendor's object store)


def _denied(reason: str) -> HttpResponse:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        f"<Message>{reason}</Message></Error>"
    )
    return HttpResponse(body, status=links.refusal_status(), content_type="application/xml")


def file_view(view):
    def wrapped(request, *args, **kwargs):
        response = faults.fault_response("files")
        if response is None:
            reason = links.check(request)
            response = _denied(reason) if reason else view(request, *args, **kwargs)
        stats.record(endpoint="files", status=response.status_code)
        return response

    return require_safe(wrapped)


@file_view
def upload_file(request, upload_id, ext):
    upload = SimUpload.objects.filter(id=upload_id).first()
    if upload is None:
        return HttpResponse("not found", status=404, content_type="text/plain")
    return HttpResponse(bytes(upload.data), content_type=upload.content_type)


@file_view
def task_file(request, task_id, index, variant):
    task = SimTask.objects.filter(id=task_id).first()
    if (
        variant not in render.VARIANTS
        or task is None
        or index >= task.n_images
        or generation.task_state(task) != "done"
    ):
        return HttpResponse("not found", status=404, content_type="text/plain")
    return FileResponse(
        open(generation.task_image_file(task, index, variant), "rb"), content_type="image/jpeg"
    )


@file_view
def demo_file(request, slug):
    catalog.ensure_seeded()
    path = catalogs.demo_file(slug)
    if path is None:
        return HttpResponse("not found", status=404, content_type="text/plain")
    return FileResponse(open(path, "rb"), content_type="image/jpeg")
