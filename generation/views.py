"""Generation pages: thin views. Catalogs are read from the cache, refreshed by the worker (generation.catalog);
everything that talks to the vendor for a task runs in the worker (generation.tasks); pages and htmx polls read
only our database and cache. The one call a page makes itself is img2txt ("Describe"), interactively."""

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from generation import catalog, planning, read_parameters, services, submission, views_batches
from generation import selectors as queue
from generation import vendor_rules as rules
from generation.forms import ControlNetForm, GenerateForm
from generation.models import TaskGroup
from generation.read_parameters import ReadParametersForm
from library import parameters, selectors
from miaohua_site.accounts.decorators import upstream_account_required
from miaohua_site.accounts.services import client_for_account
from miaohua_site.i18n import shown
from miaohua_site.params import int_param
from miaohua_site.upstream.errors import UpstreamError, UpstreamTimeout
from team.roles import can_generate
from team.services import quotas

RECENT_TASKS = 12


@login_required
def home(request):
    # A viewer sends nothing: they land on the team's gallery instead of the Generate page they may not use.
    return redirect("generate" if can_generate(request.user) else "gallery")


def _unit_prefixes(data) -> list[int]:
    """The ControlNet units present in a posted form (units can be removed from the middle)."""
    return sorted({i for i in range(rules.MAX_CONTROLNETS) if f"cn-{i}-cn" in data})


def _resolve_image(user, upload, input_id, from_id):
    """An InputImage for an upload, an earlier upload of this user, or one of their history images."""
    if upload:
        return services.input_image_create(user=user, file=upload)
    if input_id:
        return selectors.input_images_of(user).filter(pk=input_id).first()
    if from_id:
        image = selectors.images_visible_to(user).filter(pk=from_id).first()
        if image is not None:
            return services.input_image_from_history(user=user, image=image)
    return None


def _initial_from_request(request):
    """Pre-fill: "reuse these settings" (?task=), "use as init image" (?init_from=), "use as ControlNet image"
    (?cn_from=), "generate with this" (?versionid=, ?lora=, ?prompt=)."""
    initial, units = {}, []
    task_pk = int_param(request.GET, "task")
    if task_pk:
        task = selectors.task_for_user(request.user, task_pk)
        initial, units = submission.initial_from_task(task)
        if request.GET.get("same_seed") and task.select_seed is not None:
            initial["select_seed"] = task.select_seed
        elif request.GET.get("fresh_seed"):  # after a submit without "keep this seed": random again
            initial["select_seed"] = -1
        initial["keep_seed"] = bool(request.GET.get("keep_seed"))
    for key in ("versionid", "prompt", "neg_prompt"):
        if request.GET.get(key):
            initial[key] = request.GET[key][: rules.PROMPT_MAX]
    if request.GET.get("lora"):
        initial["lora_versionid"] = request.GET["lora"]
        if request.GET.get("base"):  # the base model the LoRA was made for, when the link knows it
            initial["lora_base"] = request.GET["base"][:200]
    init_from = int_param(request.GET, "init_from")
    if init_from:
        initial.update(mode="img2img", init_image_from=init_from, output_size="")
    cn_from = int_param(request.GET, "cn_from")
    if cn_from:
        units.append({"image_from": cn_from})
    return initial, units[: rules.MAX_CONTROLNETS]


def _reused_task(request):
    """The task whose settings the form reuses (?task=), for the styles, batch and sweep forms' initial values."""
    task_pk = int_param(request.GET, "task")
    return selectors.task_for_user(request.user, task_pk) if task_pk else None


def _group_url(group) -> str:
    """Where a stored batch or sweep is watched: a sweep on its own page (its grid), a batch on the Generate page,
    its tasks at the top of the gallery."""
    if group.kind == TaskGroup.Kind.SWEEP:
        return reverse("sweep_detail", args=[group.pk])
    return f"{reverse('generate')}?group={group.pk}#group-{group.pk}"


def _image_previews(user, form, units):
    """Thumbnails of the images already chosen, so a re-rendered form shows them and nothing is lost."""

    def preview(input_id, from_id):
        if input_id:
            return selectors.input_images_of(user).filter(pk=input_id).first()
        if from_id:
            return selectors.images_visible_to(user).filter(pk=from_id).first()
        return None

    def value(f, name):
        # A posted form's ids as its fields cleaned them: a tampered one is a field error, never looked up.
        return getattr(f, "cleaned_data", {}).get(name) if f.is_bound else f.initial.get(name)

    form.init_preview = preview(value(form, "init_image_input"), value(form, "init_image_from"))
    for unit in units:
        unit.image_preview = preview(value(unit, "image_input"), value(unit, "image_from"))


def _with_urls(pickers: dict, form) -> dict:
    """Each picker's placeholder keeps the form's current value (a POST while it loads loses nothing) and polls
    with it, so the picker arrives with that value chosen."""
    kept = {
        "models": ["versionid", "lora_base"],  # a LoRA's link names the base model it was made for
        "loras": ["lora_versionid"],
        "sizes": ["output_size"],
        "controlnets": [],
    }

    def value(field):
        if field == "lora_base":
            return "" if form.is_bound else form.initial.get("lora_base", "")
        return form[field].value()

    for name, picker in pickers.items():
        picker.keep = [(field, value(field)) for field in kept[name] if value(field)]
        picker.url = reverse("generate_picker", args=[name]) + ("?" + urlencode(picker.keep) if picker.keep else "")
    return pickers


def _page_context(request, cats, form, units) -> dict:
    _image_previews(request.user, form, units)
    recent = selectors.tasks_visible_to(request.user).filter(owner=request.user).prefetch_related("images")
    return {
        "form": form,
        "units": units,
        "cats": cats,
        "pickers": _with_urls(cats.pickers, form),
        "max_units": rules.MAX_CONTROLNETS,
        "cn_processors": rules.CN_PROCESSORS,
        "cn_options": rules.CN_OPTIONS,
        "tasks": queue.with_queue_positions(request.user, recent[:RECENT_TASKS]),
        "highlight": str(int_param(request.GET, "task") or ""),
        "units_have_errors": any(unit.has_errors_beside_fields() for unit in units),
        "errors_above": [m for f in (form, *units) if f.is_bound for m in f.errors_not_beside_fields()],
        "cn_processors_json": json.dumps({"processors": rules.CN_PROCESSORS, "options": rules.CN_OPTIONS}),
        "quota": quotas.quota_status(request.user),
        "batch": views_batches.batch_strip_for(request.user, int_param(request.GET, "group")),
    }


@upstream_account_required
@require_http_methods(["GET", "POST"])
def generate(request):
    """The Generate page. Its catalogs come from the cache (never from the vendor): a picker whose catalog has
    not arrived yet is a placeholder that polls ``generate_picker`` until the worker has fetched it."""
    account = request.upstream_account
    cats = catalog.generate_catalogs(account, force=request.GET.get("refresh") == "1")
    cn_loading = "controlnets" in cats.loading

    if request.method == "POST":
        form = GenerateForm(request.POST, request.FILES, **cats.form_kwargs())
        controlnets = cats.controlnets_for(form.selected_model)
        units = [
            ControlNetForm(request.POST, request.FILES, prefix=f"cn-{i}", controlnets=controlnets, loading=cn_loading)
            for i in _unit_prefixes(request.POST)
        ]
        extras = planning.extra_forms(request.POST, user=request.user, cats=cats)
        valid = form.is_valid() & all([f.is_valid() for f in (*units, *extras.values())])
        made = None
        if valid:
            made = submission.submit_from_form(
                user=request.user, form=form, units=units, resolve_image=_resolve_image, extras=extras
            )
        else:
            submission.keep_uploads(user=request.user, form=form, units=units, resolve_image=_resolve_image)
        if isinstance(made, TaskGroup):
            return redirect(_group_url(made))
        if made is not None:
            seed = "keep_seed=1" if form.cleaned_data.get("keep_seed") else "fresh_seed=1"
            return redirect(f"{reverse('generate')}?task={made.pk}&{seed}#task-{made.pk}")
    else:
        initial, unit_initials = _initial_from_request(request)
        initial.setdefault("sensitive_limit_value", account.sensitive_limit_value)
        form = GenerateForm(initial=initial, **cats.form_kwargs())
        controlnets = cats.controlnets_for(form.selected_model or (cats.base_models[:1] or [None])[0])
        units = [
            ControlNetForm(initial=u, prefix=f"cn-{i}", controlnets=controlnets, loading=cn_loading)
            for i, u in enumerate(unit_initials)
        ]
        extras = planning.extra_forms(user=request.user, cats=cats, task=_reused_task(request))

    context = {**_page_context(request, cats, form, units), "extras": extras}
    context["extras_have_errors"] = any(f.is_bound and f.errors for f in extras.values())
    from generation.forms import DescribeForm

    context["describe_form"] = DescribeForm()  # the Describe panel: a caption of an image, to use as the prompt
    context["reader"] = ReadParametersForm()  # "Read settings from an image"
    # A POST that reaches here did not make a task (a valid one has redirected): its errors are shown.
    return TemplateResponse(
        request, "generation/generate.html", context, status=400 if request.method == "POST" else 200
    )


@upstream_account_required
@require_POST
def generate_read_parameters(request):
    """ "Read settings from an image" (or an image dropped on the Generate page): the form re-rendered as it was
    posted, with the settings the image carries laid over it and a note for each that does not map to Miaohua;
    when the image has none, or is no image, the reason beside its field and the form as it was. Never a vendor
    call: the catalogs come from the cache."""
    account = request.upstream_account
    cats = catalog.generate_catalogs(account)
    cn_loading = "controlnets" in cats.loading
    reader = ReadParametersForm(request.POST, request.FILES)
    posted = GenerateForm(request.POST, request.FILES, **cats.form_kwargs())
    controlnets = cats.controlnets_for(posted.selected_model)
    posted_units = [
        ControlNetForm(request.POST, request.FILES, prefix=f"cn-{i}", controlnets=controlnets, loading=cn_loading)
        for i in _unit_prefixes(request.POST)
    ]
    for bound in (posted, *posted_units):
        bound.is_valid()  # cleaned ids and uploads, so that keep_uploads stores the uploads
    submission.keep_uploads(user=request.user, form=posted, units=posted_units, resolve_image=_resolve_image)
    notes, read_from = [], None
    if reader.is_valid():
        initial, unit_initials, notes = read_parameters.laid_over(
            reader.found, form=posted, units=posted_units, cats=cats
        )
        read_from, reader = reader.found.tool, ReadParametersForm()
    else:
        initial, unit_initials = read_parameters.as_posted(form=posted, units=posted_units)
    form = GenerateForm(initial=initial, **cats.form_kwargs())
    controlnets = cats.controlnets_for(form.selected_model or (cats.base_models[:1] or [None])[0])
    units = [
        ControlNetForm(initial=u, prefix=f"cn-{i}", controlnets=controlnets, loading=cn_loading)
        for i, u in enumerate(unit_initials)
    ]
    context = {**_page_context(request, cats, form, units), "reader": reader, "read_notes": notes}
    context["extras"] = planning.extra_forms(request.POST, user=request.user, cats=cats)  # as they were posted
    context["read_from"] = read_from
    if request.htmx:
        return TemplateResponse(request, "generation/generate.html#generate_area", context)
    from generation.forms import DescribeForm

    context["describe_form"] = DescribeForm()
    return TemplateResponse(request, "generation/generate.html", context)


@upstream_account_required
@require_GET
def generate_picker(request, name):
    """One picker of the Generate form, polled by its placeholder every second: the placeholder again while its
    catalog loads, else the real picker (or the reason it failed, with a retry) with status 286, ending the poll.
    ``status`` is the line that says how fresh the catalogs are, polled while a refresh runs."""
    if name not in (*catalog.GENERATE_PICKERS, "status"):
        raise Http404(gettext("No such picker."))
    only = None if name == "status" else [name]
    cats = catalog.generate_catalogs(request.upstream_account, only=only, force=request.GET.get("retry") == "1")
    if name == "status":
        response = TemplateResponse(request, "generation/generate.html#catalog_status", {"cats": cats})
        if not cats.refreshing:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    kept = ("versionid", "lora_versionid", "lora_base", "output_size")
    initial = {key: request.GET[key][:200] for key in kept if request.GET.get(key)}
    form = GenerateForm(initial=initial, **cats.form_kwargs())
    pickers = _with_urls({name: cats.picker(name)}, form)
    context = {"form": form, "cats": cats, "pickers": pickers, "picker": pickers[name]}
    response = TemplateResponse(request, f"generation/generate.html#{name}_picker", context)
    if not pickers[name].waiting:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@upstream_account_required
@require_GET
def controlnet_unit(request):
    """A fresh ControlNet unit for the form (htmx `beforeend`): the units already typed are left untouched.
    Its types come from the cached lists; while they load, a short note says so (and a refresh is asked)."""
    present = {i for i in range(rules.MAX_CONTROLNETS) if str(i) in request.GET.getlist("present")}
    free = [i for i in range(rules.MAX_CONTROLNETS) if i not in present]
    if not free:
        return TemplateResponse(request, "generation/generate.html#cn_limit", {"max_units": rules.MAX_CONTROLNETS})
    cats = catalog.generate_catalogs(request.upstream_account, only=["controlnets"])
    picker = cats.picker("controlnets")
    if not picker.ready:
        return TemplateResponse(request, "generation/generate.html#cn_error", {"picker": picker})
    model = next((m for m in cats.base_models if m.versionid == request.GET.get("versionid")), None)
    unit = ControlNetForm(prefix=f"cn-{free[0]}", controlnets=cats.controlnets_for(model))
    unit.image_preview = None
    return TemplateResponse(request, "generation/generate.html#cn_unit", {"unit": unit, "cn_options": rules.CN_OPTIONS})


@login_required
@require_GET
def task_card(request, pk):
    """The polled task card: re-rendered every ~2 s while the task moves or its images are being stored; 286
    (stop polling) once settled. Three queries: the user, the task, its images (the session is cached); a fourth
    for the owner's queued task, its place in line."""
    task = queue.with_queue_positions(request.user, [selectors.task_card_for_user(request.user, pk)])[0]
    on_detail = request.GET.get("on") == "detail"  # the card of the task's own page links to no "Details"
    response = TemplateResponse(request, "generation/_task_card.html", {"task": task, "on_detail": on_detail})
    if task.is_settled:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@login_required
@require_GET
def task_detail(request, pk):
    task = queue.with_queue_positions(request.user, [selectors.task_for_user(request.user, pk)])[0]
    inputs = selectors.task_inputs(request.user, task)
    return TemplateResponse(request, "generation/task_detail.html", {"task": task, "on_detail": True, "inputs": inputs})


@upstream_account_required
@require_POST
def task_retry(request, pk):
    task = selectors.task_owned_by(request.user, pk)
    try:
        new = services.generation_retry(task=task, user=request.user)
    except quotas.QuotaExceeded as refused:
        messages.error(request, shown(refused.message))
        return redirect(f"{reverse('generate')}?task={task.pk}#task-{task.pk}")
    return redirect(f"{reverse('generate')}?task={new.pk}#task-{new.pk}")


@login_required
@require_GET
def image_download(request, pk):
    image = get_object_or_404(selectors.images_visible_to(request.user), pk=pk)
    if not image.file:
        raise Http404(gettext("This image is still being stored."))
    name = f"miaohua-{image.task_id}-{image.save_index}{image.file.name[image.file.name.rfind('.') :]}"
    # The original with its generation parameters inside (A1111's "parameters"), read by other tools and by our
    # own Generate page; the thumbnail and preview variants (image_file) stay as stored.
    return FileResponse(parameters.original_with_parameters(image), as_attachment=True, filename=name)


@login_required
@require_GET
def image_file(request, pk, variant):
    """Our mirrored copy (original, preview or thumbnail), served only to those who may see the task; the owner
    of a task in the trash gets its thumbnail (the trash page shows it)."""
    image = selectors.image_file_for_user(request.user, pk, variant)
    field = {"original": image.file, "preview": image.preview, "thumb": image.thumbnail}.get(variant)
    if not field:
        raise Http404(gettext("No such image."))
    response = FileResponse(field.open("rb"))
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_GET
def input_file(request, pk):
    """An input image, to its owner and to whoever may see a task that used it (library.selectors)."""
    source = selectors.input_image_for_user(request.user, pk).stored_file
    if not source:
        raise Http404(gettext("No such image."))
    return FileResponse(source.open("rb"))


@login_required
@require_GET
def input_thumb(request, pk):
    """An input's thumbnail on lineage blocks: the picked history image's WebP thumbnail, else the upload itself
    (scaled by the page; uploads are at most a few MB)."""
    image = selectors.input_image_for_user(request.user, pk)
    source = image.source_image
    field = source.thumbnail if source is not None and source.thumbnail else image.stored_file
    if not field:
        raise Http404(gettext("No such image."))
    response = FileResponse(field.open("rb"))
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_GET
def image_picker(request):
    """A modal grid of the user's recent images, to pick an init or ControlNet image from history."""
    images = selectors.images_visible_to(request.user).filter(task__owner=request.user, file__gt="")[:60]
    return TemplateResponse(
        request, "generation/image_picker.html", {"images": images, "target": request.GET.get("target", "")}
    )


@login_required
@require_GET
def queue_badge(request):
    count = queue.queue_count(request.user)
    position = queue.next_queue_position(request.user) if count else None
    return TemplateResponse(request, "_queue_badge.html", {"queue_count": count, "queue_position": position})


@upstream_account_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def describe(request):
    """img2txt: a caption for an image, asked while the person waits (the interactive client profile: one try,
    a short read timeout, a plain message when Miaohua is slow; ARCHITECTURE "What runs where")."""
    from generation.forms import DescribeForm

    initial = {"image_from": int_param(request.GET, "from")}
    form = DescribeForm(request.POST or None, request.FILES or None, initial=initial)
    caption = error = None
    if request.method == "POST" and form.is_valid():
        source = _resolve_image(request.user, form.cleaned_data.get("image"), None, form.cleaned_data.get("image_from"))
        if source is None:
            form.add_error("image", gettext("Upload an image or pick one from your history."))
        else:
            client = client_for_account(request.upstream_account, interactive=True)
            try:
                caption = submission.image_describe(input_image=source, client=client)
            except UpstreamTimeout as exc:
                error = shown(exc.user_message)  # "Miaohua took longer than 10 s to answer; try again."
            except UpstreamError as exc:
                reason = shown(exc.user_message)
                error = gettext("Miaohua could not describe this image: %(reason)s") % {"reason": reason}
            finally:
                client.close()
    preview = None
    from_id = getattr(form, "cleaned_data", {}).get("image_from") if form.is_bound else form.initial.get("image_from")
    if from_id:
        preview = selectors.images_visible_to(request.user).filter(pk=from_id).first()
    context = {"form": form, "caption": caption, "error": error, "preview": preview}
    if request.htmx:  # the Generate page's Describe panel
        return TemplateResponse(request, "generation/describe.html#describe_panel", context)
    return TemplateResponse(request, "generation/describe.html", context)
