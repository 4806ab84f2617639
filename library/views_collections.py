"""Collections, the ZIP download and the history export, and Compare: thin views.

Every object is fetched starting from the user (library.collections and library.selectors), so
another member's private collection or unshared task is a 404, never a leak."""

import json
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from generation.models import GeneratedImage
from library import collections, exports, saved_searches, selectors
from miaohua_site.accounts.decorators import member_required
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent
from miaohua_site.forms import StudioForm
from miaohua_site.params import int_list, int_param, parse_id, safe_next
from team.roles import can_generate

# --- Forms --------------------------------------------------------------------------------------------------


class CollectionForm(StudioForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_shared = forms.BooleanField(
        label=_("Share with the team"), required=False, help_text=_("Every member can open it; only you change it.")
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(gettext("Give the collection a name."))
        return name


class CollectionAddForm(StudioForm):
    """Add to one of my collections, or to a new one typed here."""

    collection = forms.TypedChoiceField(label=_("Collection"), coerce=int, required=False, empty_value=None)
    new_name = forms.CharField(label=_("Or a new collection"), max_length=100, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        mine = collections.own_collections(user).values_list("pk", "name")
        self.fields["collection"].choices = [("", gettext("Choose…")), *mine]
        if len(self.fields["collection"].choices) == 1:
            self.fields["new_name"].label = gettext("New collection")
        self.fields["new_name"].widget.attrs["placeholder"] = gettext("New collection name")

    def clean(self):
        data = super().clean()
        data["new_name"] = (data.get("new_name") or "").strip()
        if not data.get("collection") and not data["new_name"]:
            self.add_error("new_name", gettext("Choose one of your collections or type a name for a new one."))
        return data


# --- Collections --------------------------------------------------------------------------------------------


def _list_context(user, form):
    shared = collections.collections_visible_to(user).filter(is_shared=True).exclude(owner=user)
    return {
        "form": form,
        "mine": collections.with_summary(user, collections.own_collections(user)),
        "shared": collections.with_summary(user, shared.order_by("-updated_at", "-id")),
        "saved_searches": saved_searches.saved_searches_visible_to(user),
    }


@member_required
@require_http_methods(["GET", "POST"])
def collection_list(request):
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            collection = collections.collection_create(user=request.user, **form.cleaned_data)
        except collections.CollectionNameTaken as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, gettext("Collection “%(name)s” created.") % {"name": collection.name})
            return redirect("collection_detail", pk=collection.pk)
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, "library/collection_list.html", _list_context(request.user, form), status=status)


def _detail_context(request, collection, *, edit_form=None):
    items, cursor = collections.items_page(request.user, collection, cursor=request.GET.get("cursor", ""))
    is_owner = collection.owner_id == request.user.pk and can_generate(request.user)  # a viewer changes nothing
    if is_owner and edit_form is None:
        edit_form = CollectionForm(
            initial={"name": collection.name, "description": collection.description, "is_shared": collection.is_shared}
        )
    return {
        "collection": collection,
        "items": items,
        "next_cursor": cursor,
        "is_owner": is_owner,
        "edit_form": edit_form,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def collection_detail(request, pk):
    collection = collections.collection_for_user(request.user, pk)
    context = _detail_context(request, collection)
    if request.htmx and request.GET.get("cursor"):
        return TemplateResponse(request, "library/collection_detail.html#items", context)
    context["n_images"] = collections.visible_items(request.user, collection).count()
    return TemplateResponse(request, "library/collection_detail.html", context)


@member_required
@require_POST
def collection_edit(request, pk):
    collection = collections.collection_owned_by(request.user, pk)
    form = CollectionForm(request.POST)
    if form.is_valid():
        try:
            collections.collection_update(collection=collection, **form.cleaned_data)
        except collections.CollectionNameTaken as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, gettext("Collection saved."))
            return redirect("collection_detail", pk=collection.pk)
    collection.refresh_from_db()
    context = _detail_context(request, collection, edit_form=form)
    context["n_images"] = collections.visible_items(request.user, collection).count()
    return TemplateResponse(request, "library/collection_detail.html", context, status=400)


@member_required
@require_POST
def collection_delete(request, pk):
    collection = collections.collection_owned_by(request.user, pk)
    name = collection.name
    collections.collection_delete(collection=collection)
    messages.success(
        request, gettext("Collection “%(name)s” deleted. Its images are still in their histories.") % {"name": name}
    )
    return redirect("collection_list")


@member_required
@require_POST
def collection_remove(request, pk):
    collection = collections.collection_owned_by(request.user, pk)
    images = GeneratedImage.objects.filter(pk__in=int_list(request.POST, "image"))
    removed = collections.collection_remove_images(collection=collection, images=images)
    if removed:
        messages.success(
            request,
            ngettext("Removed %(count)s image from “%(name)s”.", "Removed %(count)s images from “%(name)s”.", removed)
            % {"count": removed, "name": collection.name},
        )
    else:
        messages.info(request, gettext("Select the images to remove first."))
    return redirect("collection_detail", pk=collection.pk)


@member_required
@require_POST
def collection_cover(request, pk):
    collection = collections.collection_owned_by(request.user, pk)
    image_id = int_param(request.POST, "image")
    item = collections.visible_items(request.user, collection).filter(image_id=image_id).first() if image_id else None
    if item is None:
        raise Http404(gettext("That image is not in this collection."))
    collections.collection_set_cover(collection=collection, image=item.image)
    messages.success(request, gettext("Cover changed."))
    return redirect("collection_detail", pk=collection.pk)


def _chosen_images(request, data):
    """The visible images named by ``image`` and ``task`` ids; 404 when ids were given but none is visible."""
    image_ids, task_ids = int_list(data, "image"), int_list(data, "task")
    images = list(collections.images_to_add(request.user, image_ids=image_ids, task_ids=task_ids))
    if (image_ids or task_ids) and not images:
        raise Http404(gettext("None of these images is yours to see."))
    asked_images, asked_tasks = set(image_ids), set(task_ids)
    visible_tasks = sorted({image.task_id for image in images if image.task_id in asked_tasks})
    visible_images = [image.pk for image in images if image.pk in asked_images]
    return images, visible_images, visible_tasks


def _picker_context(request, form, images, image_ids, task_ids):
    current = request.headers.get("HX-Current-URL", "")  # the page the picker opened on: back there after
    current = urlsplit(current)._replace(scheme="", netloc="").geturl() if current else ""
    return {
        "form": form,
        "images": images,
        "image_ids": image_ids,
        "task_ids": task_ids,
        "next": safe_next(request, current if current.startswith("/") and not current.startswith("//") else ""),
    }


@member_required
@require_GET
@vary_on_headers("HX-Request")
def collection_picker(request):
    """A small form (choose one of my collections or type a new name) that posts to collection_add."""
    images, image_ids, task_ids = _chosen_images(request, request.GET)
    form = CollectionAddForm(user=request.user)
    context = _picker_context(request, form, images, image_ids, task_ids)
    template = "library/collection_picker.html#picker" if request.htmx else "library/collection_picker.html"
    return TemplateResponse(request, template, context)


@member_required
@require_POST
def collection_add(request):
    chosen = int_param(request.POST, "collection")
    if chosen and not request.POST.get("new_name", "").strip():
        # Another member's collection is a 404, as everywhere, not a form error.
        collections.collection_owned_by(request.user, chosen)
    images, image_ids, task_ids = _chosen_images(request, request.POST)
    form = CollectionAddForm(request.POST, user=request.user)
    if not images:
        form.add_error(None, gettext("Select at least one image first."))
    if form.is_valid():
        if form.cleaned_data["new_name"]:
            collection = collections.collection_get_or_create(user=request.user, name=form.cleaned_data["new_name"])
        else:
            collection = collections.collection_owned_by(request.user, form.cleaned_data["collection"])
        added = collections.collection_add_images(user=request.user, collection=collection, images=images)
        context = {"collection": collection, "added": added, "already": len(images) - added}
        if request.htmx:
            return TemplateResponse(request, "library/collection_picker.html#added", context)
        message = ngettext("Added %(count)s image to %(name)s.", "Added %(count)s images to %(name)s.", added) % {
            "count": added,
            "name": collection.name,
        }
        if context["already"]:
            already = context["already"]
            message += " " + ngettext(
                "%(count)s image was there already.", "%(count)s images were there already.", already
            ) % {"count": already}
        messages.success(request, message)
        return redirect(safe_next(request, reverse("collection_detail", args=[collection.pk])))
    context = _picker_context(request, form, images, image_ids, task_ids)
    if request.htmx:  # htmx swaps only 2xx answers: the form comes back with its errors
        return TemplateResponse(request, "library/collection_picker.html#picker", context)
    return TemplateResponse(request, "library/collection_picker.html", context, status=400)


# --- ZIP and export -----------------------------------------------------------------------------------------


@login_required
@require_POST
def history_zip(request):
    """The selected tasks' images, each with a JSON sidecar of its parameters, as one ZIP download."""
    ids = int_list(request.POST, "task", limit=None)
    back = safe_next(request, reverse("history"))
    if not ids:
        messages.info(request, gettext("Select the tasks to download first."))
        return redirect(back)
    if len(ids) > exports.ZIP_MAX_TASKS:
        messages.error(
            request,
            gettext("A ZIP holds at most %(max)s tasks; %(count)s were selected.")
            % {"max": exports.ZIP_MAX_TASKS, "count": len(ids)},
        )
        return redirect(back)
    tasks = selectors.tasks_visible_to(request.user).filter(pk__in=ids)
    if not tasks.exists():
        raise Http404(gettext("None of these tasks is yours to see."))
    archive = exports.zip_tasks(tasks)
    audit.record(
        AuditEvent.Action.ZIP_DOWNLOADED, target="Selected tasks", task_ids=sorted(tasks.values_list("pk", flat=True))
    )
    return FileResponse(archive, as_attachment=True, filename=exports.zip_filename(), content_type="application/zip")


@login_required
@require_GET
def history_export(request):
    """My own tasks, filtered as on the history page, as JSON or CSV (streamed; never all in memory)."""
    kind = request.GET.get("format", "json")
    if kind not in ("json", "csv"):
        return HttpResponseBadRequest(gettext("Choose format=json or format=csv."), content_type="text/plain")
    filters = selectors.HistoryFilters.from_query(request.GET)
    tasks = filters.apply(selectors.own_tasks(request.user))
    audit.record(AuditEvent.Action.HISTORY_EXPORTED, target=f"History as {kind.upper()}", query=request.GET.urlencode())
    if kind == "json":
        response = StreamingHttpResponse(exports.json_lines(tasks), content_type="application/json; charset=utf-8")
    else:
        response = StreamingHttpResponse(exports.csv_lines(tasks), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{exports.export_filename(kind)}"'
    return response


# --- Compare ------------------------------------------------------------------------------------------------

# The parameters people compare first; the rest follow alphabetically.
FIRST_PARAMS = [
    "prompt",
    "neg_prompt",
    "versionid",
    "model_name",
    "n_images",
    "output_size",
    "select_seed",
    "scale",
    "ddim_steps",
    "sampler",
    "init_img",
    "strength",
    "lora_configs",
    "cn_configs",
]


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def parameter_rows(a, b) -> list[dict]:
    """Every parameter of two tasks, side by side, with ``differs`` set where they are not the same. Who made
    a task and how it ended are shown too, but are not parameters: never highlighted."""
    summary = [
        (gettext("model"), a.model_name or a.versionid, b.model_name or b.versionid, True),
        (gettext("mode"), a.get_kind_display(), b.get_kind_display(), True),
        (gettext("seed used"), a.select_seed, b.select_seed, True),
        (gettext("member"), a.owner.get_username(), b.owner.get_username(), False),
        (gettext("state"), a.get_state_display(), b.get_state_display(), False),
    ]
    keys = set(a.params) | set(b.params)
    ordered = [k for k in FIRST_PARAMS if k in keys] + sorted(keys - set(FIRST_PARAMS))
    params = [(key, a.params.get(key), b.params.get(key), True) for key in ordered]
    rows = []
    for group, entries in (("summary", summary), ("params", params)):
        for name, left, right, compared in entries:
            differs = compared and left != right
            rows.append({"name": name, "a": _shown(left), "b": _shown(right), "differs": differs, "group": group})
    return rows


@login_required
@require_GET
def compare(request):
    """Two tasks side by side: their images and every parameter, the differing ones highlighted."""
    raw = [request.GET.get("a", "").strip(), request.GET.get("b", "").strip()]
    context = {"a_id": raw[0], "b_id": raw[1]}
    if not any(raw):
        return TemplateResponse(request, "library/compare.html", context)
    if not all(parse_id(value) for value in raw):
        context["error"] = gettext("Give two task numbers to compare, e.g. /compare/?a=12&b=15.")
        return TemplateResponse(request, "library/compare.html", context, status=400)
    visible = selectors.tasks_visible_to(request.user).filter(pk__in=raw).select_related("owner")
    tasks = {task.pk: task for task in visible.prefetch_related("images")}
    missing = [value for value in raw if int(value) not in tasks]
    if missing:
        context["error"] = gettext("Task %(id)s does not exist, or is not yours to see.") % {"id": missing[0]}
        return TemplateResponse(request, "library/compare.html", context, status=404)
    a, b = tasks[int(raw[0])], tasks[int(raw[1])]
    rows = parameter_rows(a, b)
    context.update(a=a, b=b, rows=rows, n_differ=sum(row["differs"] for row in rows))
    return TemplateResponse(request, "library/compare.html", context)
