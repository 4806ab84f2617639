"""My history, the team gallery, the trash and the image viewer: keyset-paged galleries with filters in the URL."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from generation.models import GenerationTask
from generation.styles import styles_usable_by
from library import saved_searches, selectors, trash, views_tags
from library import tags as library_tags
from miaohua_site.accounts.decorators import member_required
from miaohua_site.params import int_list, safe_next

PAGE_SIZE = 30
TRASH_PAGE_SIZE = 48  # rows of a trash page: a screenful or two, and rendered in a few ms


def _ids(request, name="task") -> list[int]:
    return int_list(request.POST, name, limit=500)


def _gallery(request, *, tasks, template: str, extra: dict):
    filters = selectors.HistoryFilters.from_query(request.GET)
    if not filters.errors:
        tasks = filters.narrow(tasks)
    rows, cursor = page_of_or_none(tasks, request.GET.get("cursor", ""), filters)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "tasks": rows,
        "next_cursor": cursor,
        "filters": filters,
        "query": query.urlencode(),
        "page_size": PAGE_SIZE,
        "state_choices": GenerationTask.State.choices,
        **extra,
    }
    if request.htmx and request.GET.get("cursor"):
        return TemplateResponse(request, f"{template}#page", context)
    return TemplateResponse(request, template, context)


def page_of_or_none(tasks, cursor, filters):
    if filters.errors:
        return [], ""
    return selectors.page_of(tasks, cursor=cursor, size=PAGE_SIZE, q=filters.text)


FACET_SAMPLE = 2000
FACET_SECONDS = 60


def _facets(user, tasks, mode: str) -> dict:
    """What the filter menus offer: the models, LoRAs and ControlNet types of the newest tasks — a bounded
    sample, kept a minute in the cache, so the page costs the same at 100,000 tasks."""
    key = f"history-facets:{mode}:{user.pk}"
    facets = cache.get(key)
    if facets is None:
        sample_ids = list(tasks.values_list("pk", flat=True)[:FACET_SAMPLE])
        sample = GenerationTask.objects.filter(pk__in=sample_ids)
        models = sample.order_by().values_list("versionid", "model_name").distinct()[:100]
        loras = sample.exclude(lora_versionid="").order_by().values_list("lora_versionid", flat=True).distinct()[:100]
        cn_rows = sample.exclude(cn_types="").order_by().values_list("cn_types", flat=True).distinct()[:200]
        facets = {
            "facet_models": sorted(set(models), key=lambda m: m[1] or m[0]),
            "facet_loras": sorted(loras),
            "facet_cn": sorted({cn for row in cn_rows for cn in row.split(",") if cn}),
            "facet_tags": library_tags.most_used(sample_ids),
        }
        cache.set(key, facets, FACET_SECONDS)
    return facets


def _library_page(request, *, tasks, mode: str):
    """My history or the team gallery: the gallery, and on a whole page its filter menus and saved searches."""
    extra = {"mode": mode, "shares": selectors.shares_with_team(request.user)}
    if not request.htmx:
        extra.update(_facets(request.user, tasks, mode))
        if mode == "gallery":
            extra["members"] = selectors.team_members(request.user)
        extra["facet_styles"] = list(styles_usable_by(request.user).only("id", "name", "scope"))
        extra["saved_searches"] = saved_searches.saved_searches_visible_to(request.user).filter(scope=mode)
        extra["save_form"] = views_tags.SavedSearchForm()
    return _gallery(request, tasks=tasks, template="library/history.html", extra=extra)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def history(request):
    return _library_page(request, tasks=selectors.own_tasks(request.user), mode="history")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def gallery(request):
    return _library_page(request, tasks=selectors.tasks_visible_to(request.user), mode="gallery")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def trash_list(request):
    cursor = request.GET.get("cursor", "")
    tasks, next_cursor = selectors.trash_page(request.user, cursor=cursor, size=TRASH_PAGE_SIZE)
    context = {"tasks": tasks, "next_cursor": next_cursor, "days": selectors.TRASH_DAYS}
    if request.htmx and cursor:
        return TemplateResponse(request, "library/trash.html#page", context)
    context["total"] = selectors.trashed_tasks(request.user).count()  # counted on the partial index
    return TemplateResponse(request, "library/trash.html", context)


@member_required
@require_POST
def tasks_delete(request):
    ids = _ids(request)
    if not ids:
        messages.info(request, gettext("Select tasks to move to the trash."))
        return redirect(safe_next(request, reverse("history")))
    count = trash.tasks_delete(user=request.user, task_ids=ids)
    messages.success(
        request,
        ngettext(
            "Moved %(count)s task to the trash. You can restore them for %(days)s days.",
            "Moved %(count)s tasks to the trash. You can restore them for %(days)s days.",
            count,
        )
        % {"count": count, "days": selectors.TRASH_DAYS},
    )
    return redirect(safe_next(request, reverse("history")))


@member_required
@require_POST
def tasks_restore(request):
    ids = _ids(request)
    if not ids:
        messages.info(request, gettext("Select tasks to restore."))
        return redirect(safe_next(request, reverse("trash")))
    count = trash.tasks_restore(user=request.user, task_ids=ids)
    messages.success(
        request, ngettext("Restored %(count)s task.", "Restored %(count)s tasks.", count) % {"count": count}
    )
    return redirect(safe_next(request, reverse("trash")))


@member_required
@require_POST
def task_favourite(request, pk):
    task = selectors.task_owned_by(request.user, pk)
    trash.task_set_favourite(task=task, favourite=request.POST.get("favourite") == "1")
    if request.htmx:
        return TemplateResponse(request, "library/history.html#favourite", {"task": task})
    return redirect(safe_next(request, reverse("history")))


@member_required
@require_POST
def sharing(request):
    share = request.POST.get("share") == "1"
    trash.member_set_sharing(user=request.user, share=share)
    messages.success(
        request,
        gettext("Your generations are shared with the team.")
        if share
        else gettext("Your generations are now private: only you (and admins) see them."),
    )
    return redirect(safe_next(request, reverse("gallery")))


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def image_detail(request, pk):
    """One image, large, with its actions: a page of its own, or (htmx, aimed at the overlay) the viewer alone."""
    image = selectors.image_for_user(request.user, pk)
    task = image.task
    scope = request.GET.get("in")
    tasks = selectors.own_tasks(request.user) if scope == "history" else selectors.tasks_visible_to(request.user)
    previous, following = selectors.neighbours(request.user, image, tasks)
    suffix = f"?in={scope}" if scope else ""
    made_from, made_from_total = selectors.made_from(request.user, image)
    params = {**task.params}
    if task.select_seed is not None:
        params["seed_used"] = task.select_seed
    context = {
        "image": image,
        "task": task,
        "task_tags": library_tags.tags_of(task),
        "may_tag": library_tags.may_change(request.user, task),
        "images": list(task.images.all()),
        "previous": previous,
        "next": following,
        "suffix": suffix,
        "is_owner": task.owner_id == request.user.pk,
        "params_json": json.dumps(params, indent=2, ensure_ascii=False),
        "inputs": selectors.task_inputs(request.user, task),
        "made_from": made_from,
        "made_from_more": made_from_total - len(made_from),
        "datasets": selectors.datasets_with(request.user, image),
        "close_url": reverse("history")
        if scope == "history"
        else reverse("gallery")
        if scope == "gallery"
        else f"{reverse('generate')}?task={task.pk}#task-{task.pk}",
    }
    in_overlay = request.htmx and request.htmx.target == "viewer-body"
    template = "library/image_detail.html#viewer" if in_overlay else "library/image_detail.html"
    return TemplateResponse(request, template, context)


__all__ = [
    "history",
    "gallery",
    "trash_list",
    "tasks_delete",
    "tasks_restore",
    "task_favourite",
    "sharing",
    "image_detail",
    "GenerationTask",
]
