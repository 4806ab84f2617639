"""Dataset and training pages: thin views. Files from the browser are streamed to disk and stored here; everything
that talks to Miaohua runs in the worker (training.tasks); pages and htmx polls read only our database and cache:
the training form's choices (training.catalog) and the private-model names come from the cached catalogs, which
the worker refreshes."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from generation import catalog as generation_catalog
from generation.vendor_rules import UPLOAD_MAX_BYTES
from library import selectors as generation_selectors
from miaohua_site.accounts.decorators import staff_required, upstream_account_required
from miaohua_site.accounts.services import account_for_user
from miaohua_site.i18n import shown
from miaohua_site.params import int_list, int_param
from training import catalog, selectors, services
from training.forms import DatasetForm, LoraLinkForm, TrainingForm
from training.models import DatasetImage, TrainingJob

logger = logging.getLogger(__name__)

HISTORY_PICKER_SIZE = 120
STOP = HttpResponseStopPolling.status_code


def _account(user):
    return account_for_user(user)


def _notices(request):
    return selectors.notices_for(request.user)[:10] if request.user.is_staff else []


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# --- Datasets ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def dataset_list(request):
    account = _account(request.user)
    covers = DatasetImage.objects.exclude(thumbnail="").exclude(state=DatasetImage.State.REFUSED).order_by("id")
    context = {
        "datasets": selectors.datasets_visible_to(request.user).prefetch_related(
            Prefetch("images", queryset=covers[:4], to_attr="covers")
        ),
        "notices": _notices(request),
        "can_create": request.user.is_staff,
        "account": account,
        "last_import": selectors.latest_import(account) if request.user.is_staff else None,
    }
    return TemplateResponse(request, "training/dataset_list.html", context)


@staff_required
@upstream_account_required
@require_http_methods(["GET", "POST"])
def dataset_create(request):
    form = DatasetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        dataset = services.dataset_create(user=request.user, account=request.upstream_account, **form.cleaned_data)
        messages.success(request, gettext("Dataset “%(name)s” created. Add its images below.") % {"name": dataset.name})
        return redirect("dataset_detail", pk=dataset.pk)
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, "training/dataset_form.html", {"form": form, "dataset": None}, status=status)


@staff_required
@upstream_account_required
@require_POST
def dataset_import(request):
    run = services.dataset_import_start(user=request.user, account=request.upstream_account)
    if run.is_final:
        messages.info(request, gettext("Import from Miaohua finished."))
    else:
        messages.info(
            request, gettext("Importing the datasets of your Miaohua account; they appear here as they arrive.")
        )
    return redirect("dataset_list")


@staff_required
@require_GET
def dataset_import_status(request):
    run = selectors.latest_import(_account(request.user))
    response = TemplateResponse(request, "training/dataset_list.html#import_status", {"last_import": run})
    if run is None or run.is_final:
        response.status_code = STOP
    return response


def _detail_context(request, dataset):
    return {
        "dataset": dataset,
        "images": selectors.dataset_images(dataset),
        "counts": selectors.image_counts(dataset),
        "can_change": selectors.can_change_dataset(request.user, dataset),
        "max_mb": UPLOAD_MAX_BYTES // (1024 * 1024),
        "parallel": int(settings.TRAINING_UPLOAD_PARALLEL),  # files the page sends at once
        "notices": _notices(request),
    }


@login_required
@require_GET
def dataset_detail(request, pk):
    dataset = selectors.dataset_for_user(request.user, pk)
    return TemplateResponse(request, "training/dataset_detail.html", _detail_context(request, dataset))


@login_required
@require_GET
def dataset_images(request, pk):
    """The polled image grid: re-rendered every ~2 s while images move; 286 once nothing does."""
    dataset = selectors.dataset_for_user(request.user, pk)
    context = _detail_context(request, dataset)
    response = TemplateResponse(request, "training/dataset_detail.html#images", context)
    if not context["counts"]["moving"]:
        response.status_code = STOP
    return response


@login_required
@require_GET
def dataset_image_file(request, pk, image_pk, variant):
    """Our copy of an image (never the vendor's expiring link), to anyone who may see the dataset."""
    dataset = selectors.dataset_for_user(request.user, pk)
    image = get_object_or_404(DatasetImage, dataset=dataset, pk=image_pk)
    field = {"original": image.file, "thumb": image.thumbnail}.get(variant)
    if not field:
        raise Http404(gettext("No such image."))
    response = FileResponse(field.open("rb"))
    response["Cache-Control"] = "private, max-age=86400"
    return response


@staff_required
@upstream_account_required
@require_http_methods(["GET", "POST"])
def dataset_edit(request, pk):
    dataset = selectors.dataset_for_change(request.user, pk)
    form = DatasetForm(
        request.POST or None,
        initial={"name": dataset.name, "description": dataset.description},
        on_vendor=dataset.on_vendor,
    )
    if request.method == "POST" and form.is_valid():
        services.dataset_update(dataset=dataset, **form.cleaned_data)
        messages.success(request, gettext("Saved."))
        return redirect("dataset_detail", pk=dataset.pk)
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, "training/dataset_form.html", {"form": form, "dataset": dataset}, status=status)


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Every uploaded file goes to a temporary file on disk as it arrives (never whole in memory); one larger
    than the vendor's limit is cut off at the limit and only its name kept, to be listed as refused."""

    def __init__(self, request=None, cap: int = UPLOAD_MAX_BYTES):
        super().__init__(request)
        self.cap = cap
        self.too_large: list[str] = []
        self.received = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.cap:
            self.too_large.append(self.file_name or "image")
            raise SkipFile()
        return super().receive_data_chunk(raw_data, start)


@csrf_exempt  # the handler must be in place before anything reads the body; CSRF is checked just below
@staff_required
@upstream_account_required
@require_POST
def dataset_upload(request, pk):
    handler = CappedUploadHandler(request)
    request.upload_handlers = [handler]
    return _dataset_upload(request, pk, handler)


dataset_upload.parses_own_body = True  # miaohua_site.middleware leaves the body to it (its upload handler)


@csrf_protect
def _dataset_upload(request, pk, handler):
    """Files from the browser (one per request from the page's script, or many from the plain form): checked
    and stored here, then sent to Miaohua by the worker."""
    dataset = selectors.dataset_for_change(request.user, pk)
    files = request.FILES.getlist("images")  # parses the body: the handler now knows which files it cut off
    # ``too_large`` also names files the page's script did not send, over the vendor's limit (listed as refused).
    too_large = [*handler.too_large, *request.POST.getlist("too_large")[:100]]
    made = services.dataset_images_store(dataset=dataset, files=files, too_large=too_large)
    waiting = dataset.images.filter(state=DatasetImage.State.WAITING).count()
    later = request.POST.get("more") == "1"  # the page's script sends more files and says when it is done
    if waiting and (not later or waiting >= int(settings.TRAINING_UPLOAD_BATCH_FILES)):
        services.dataset_send_start(dataset_id=dataset.pk)
    if _wants_json(request):
        return JsonResponse(
            {
                "files": [
                    {"id": image.pk, "name": image.original_name, "state": image.state, "error": shown(image.error)}
                    for image in made
                ]
            }
        )
    refused = [image for image in made if image.state == DatasetImage.State.REFUSED]
    kept = len(made) - len(refused)
    if kept:
        messages.success(
            request,
            ngettext(
                "%(count)s image received, on the way to Miaohua.",
                "%(count)s images received, on the way to Miaohua.",
                kept,
            )
            % {"count": kept},
        )
    if refused:
        messages.warning(
            request,
            ngettext(
                "%(count)s file refused — see why below.", "%(count)s files refused — see why below.", len(refused)
            )
            % {"count": len(refused)},
        )
    if not made:
        messages.info(request, gettext("Choose one or more images first."))
    return redirect(reverse("dataset_detail", args=[dataset.pk]) + "#images")


@staff_required
@upstream_account_required
@require_POST
def dataset_send(request, pk):
    """The page's script has sent its last file: send what waits now."""
    dataset = selectors.dataset_for_change(request.user, pk)
    services.dataset_send_start(dataset_id=dataset.pk)
    if _wants_json(request) or request.htmx:
        return HttpResponse(status=204)
    return redirect("dataset_detail", pk=dataset.pk)


@staff_required
@upstream_account_required
@require_http_methods(["GET", "POST"])
def dataset_from_history(request, pk):
    """GET: the picker (the user's stored images); POST: copy the picked ones into the dataset."""
    dataset = selectors.dataset_for_change(request.user, pk)
    mine = generation_selectors.images_visible_to(request.user).filter(task__owner=request.user, file__gt="")
    if request.method == "GET":
        context = {"dataset": dataset, "history": mine.select_related("task")[:HISTORY_PICKER_SIZE]}
        return TemplateResponse(request, "training/dataset_detail.html#history_picker", context)
    ids = int_list(request.POST, "generated")
    picked = list(mine.filter(pk__in=ids).select_related("task"))
    if not picked:
        messages.info(request, gettext("Pick one or more images first."))
        return redirect("dataset_detail", pk=dataset.pk)
    made = services.dataset_images_from_history(user=request.user, dataset=dataset, images=picked)
    services.dataset_send_start(dataset_id=dataset.pk)
    refused = sum(image.state == DatasetImage.State.REFUSED for image in made)
    kept = len(made) - refused
    messages.success(
        request,
        ngettext(
            "%(count)s image from your history added, on the way to Miaohua.",
            "%(count)s images from your history added, on the way to Miaohua.",
            kept,
        )
        % {"count": kept},
    )
    if refused:
        messages.warning(request, gettext("%(count)s refused — see why below.") % {"count": refused})
    return redirect(reverse("dataset_detail", args=[dataset.pk]) + "#images")


@staff_required
@upstream_account_required
@require_POST
def dataset_images_remove(request, pk):
    dataset = selectors.dataset_for_change(request.user, pk)
    ids = int_list(request.POST, "image") or int_list(request.POST, "selected")
    if not ids:
        messages.info(request, gettext("Select the images to remove first."))
        return redirect(reverse("dataset_detail", args=[dataset.pk]) + "#images")
    counts = services.dataset_images_remove(dataset=dataset, image_ids=ids)
    if counts["removing"]:
        messages.info(
            request,
            gettext("Removing %(count)s image(s) from the dataset at Miaohua.") % {"count": counts["removing"]},
        )
    if counts["removed"]:
        messages.success(request, gettext("%(count)s image(s) removed.") % {"count": counts["removed"]})
    return redirect(reverse("dataset_detail", args=[dataset.pk]) + "#images")


@staff_required
@upstream_account_required
@require_POST
def dataset_images_retry(request, pk):
    dataset = selectors.dataset_for_change(request.user, pk)
    ids = int_list(request.POST, "image") or None
    count = services.dataset_images_retry(dataset=dataset, image_ids=ids)
    messages.info(
        request,
        gettext("Sending %(count)s image(s) again.") % {"count": count} if count else gettext("Nothing to send again."),
    )
    return redirect(reverse("dataset_detail", args=[dataset.pk]) + "#images")


# --- Training ----------------------------------------------------------------------------------------------


def _taken_names(account) -> list[str]:
    """Names the vendor would refuse: our jobs on the account (not failed) and its private models (as cached; the
    vendor checks again on submit, so a list still loading does not hold the form up)."""
    names = list(
        TrainingJob.objects.filter(account_email__iexact=account.email)
        .exclude(state=TrainingJob.State.FAILED)
        .values_list("name", flat=True)
    )
    names += [m.model_name for m in generation_catalog.private_models(account).value or []]
    return names


def _train_picker(entry, form):
    """The form's two vendor choices: ready, or a placeholder that polls ``training_form_choices``."""
    picker = catalog.train_picker(entry)
    picker.keep = [(name, form[name].value()) for name in ("base_model", "main_body") if form[name].value()]
    picker.url = reverse("training_form_choices") + ("?" + urlencode(picker.keep) if picker.keep else "")
    return picker


def _training_form(account, entry, data=None, initial=None, taken_names=()):
    return TrainingForm(
        data,
        initial=initial,
        train_form=entry.value,
        datasets=selectors.trainable_datasets(account),
        taken_names=taken_names,
        loading=not entry.ready,
    )


def _lora_link_form(user, job, data=None) -> LoraLinkForm | None:
    """The by-hand LoRA picker of a finished job that has none (or the posted one), for admins on its account;
    the private models come from the cached catalog."""
    if data is None and not (job.state == TrainingJob.State.DONE and not job.lora_versionid):
        return None
    if not selectors.can_link_lora(user, job):
        return None
    entry = generation_catalog.private_models(account_for_user(user))
    failed = entry.error if entry.failed else ""
    return LoraLinkForm(
        data, models=entry.value or [], loading=not entry.ready and not failed, error=failed, prefix=f"lora-{job.pk}"
    )


def _with_link_forms(user, jobs, bound=None):
    jobs = list(jobs)
    if bound is not None and bound.pk not in {job.pk for job in jobs}:
        jobs.insert(0, bound)
    for job in jobs:
        job.link_form = bound.link_form if bound is not None and job.pk == bound.pk else _lora_link_form(user, job)
    return jobs


def _training_page(request, form=None, status=200, linking=None):
    account = _account(request.user)
    context = {
        "account": account,
        "jobs": _with_link_forms(request.user, selectors.jobs_visible_to(request.user)[:50], bound=linking),
        "form": form,
        "notices": _notices(request),
    }
    if account is not None:
        entry = catalog.train_form(account, force=request.GET.get("refresh") == "1")
        if form is None:
            initial = {}
            if entry.ready and entry.value.base_models:
                initial["base_model"] = entry.value.base_models[0]
            dataset = int_param(request.GET, "dataset")
            if dataset:
                initial["datasets"] = [dataset]
            context["form"] = form = _training_form(account, entry, initial=initial)
        context["train_form"] = entry.value
        context["picker"] = _train_picker(entry, form)
    return TemplateResponse(request, "training/training_list.html", context, status=status)


@staff_required
@require_GET
def training_list(request):
    return _training_page(request)


@staff_required
@upstream_account_required
@require_GET
def training_form_choices(request):
    """The training form's base model and subject, polled by their placeholder every second while the worker
    fetches get_train_form; the real choices (or why they failed, with a retry) with 286 end the polling."""
    account = request.upstream_account
    entry = catalog.train_form(account, force=request.GET.get("retry") == "1")
    initial = {name: request.GET[name][:100] for name in ("base_model", "main_body") if request.GET.get(name)}
    if entry.ready and not initial.get("base_model") and entry.value.base_models:
        initial["base_model"] = entry.value.base_models[0]
    form = _training_form(account, entry, initial=initial)
    picker = _train_picker(entry, form)
    response = TemplateResponse(request, "training/training_list.html#train_choices", {"form": form, "picker": picker})
    if not picker.waiting:
        response.status_code = STOP
    return response


@staff_required
@upstream_account_required
@require_POST
def training_create(request):
    account = request.upstream_account
    existing = selectors.job_with_key(request.user, request.POST.get("idempotency_key"))
    if existing is not None:  # sent twice: the job the first one made (its name is "taken" by now)
        return redirect(f"{reverse('training_list')}#job-{existing.pk}")
    entry = catalog.train_form(account)
    form = _training_form(account, entry, data=request.POST, taken_names=_taken_names(account))
    if not form.is_valid():  # also while the training choices load: the form comes back as typed
        return _training_page(request, form=form, status=400)
    data = form.cleaned_data
    job = services.training_submit(
        user=request.user,
        account=account,
        name=data["name"],
        description=data["description"],
        base_model=data["base_model"],
        main_body=data["main_body"],
        trigger_word=data["trigger_word"],
        datasets=data["datasets"],
        idempotency_key=data["idempotency_key"],
    )
    return redirect(f"{reverse('training_list')}#job-{job.pk}")


@staff_required
@require_GET
def training_card(request, pk):
    """The polled job card: re-rendered every ~2 s while the job moves; 286 (stop polling) once final."""
    job = selectors.job_for_user(request.user, pk)
    job.link_form = _lora_link_form(request.user, job)
    response = TemplateResponse(request, "training/training_list.html#job_card", {"job": job})
    if job.is_final:
        response.status_code = STOP
    return response


@staff_required
@require_POST
def training_lora_link(request, pk):
    """An admin links a finished job to its LoRA by hand (when the search did not find it under a name it
    knows): one of the account's private models, as cached."""
    job = selectors.job_for_lora_link(request.user, pk)
    form = _lora_link_form(request.user, job, data=request.POST)
    if form.is_valid():
        lora = form.cleaned_data["versionid"]
        if services.training_lora_link(job=job, user=request.user, lora=lora):
            messages.success(
                request,
                gettext("“%(name)s” is linked to the LoRA “%(lora)s”.") % {"name": job.name, "lora": lora.model_name},
            )
            return redirect(f"{reverse('training_list')}#job-{job.pk}")
        form.add_error(
            "versionid", gettext("Miaohua has not finished this training yet: its LoRA cannot be linked now.")
        )
    job.link_form = form
    return _training_page(request, status=400, linking=job)


@staff_required
@require_GET
def training_notices(request):
    compact = request.GET.get("compact") == "1"
    context = {"notices": selectors.notices_for(request.user)[:10], "compact": compact}
    return TemplateResponse(request, "training/_notices.html", context)


@staff_required
@require_POST
def training_notices_dismiss(request):
    ids = int_list(request.POST, "job") or None
    services.notices_dismiss(user=request.user, job_ids=ids)
    if request.htmx:
        context = {"notices": selectors.notices_for(request.user)[:10], "compact": request.POST.get("compact") == "1"}
        return TemplateResponse(request, "training/_notices.html", context)
    return redirect("training_list")
