"""Tags and saved searches: thin views over library.tags and library.saved_searches.

A task is fetched starting from the user (a task they may not change is not touched, or a 404 for one task);
a saved search likewise (another member's personal one is a 404 for everyone but its owner)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from library import saved_searches, selectors
from library import tags as library_tags
from library.models import SavedSearch
from miaohua_site.accounts.decorators import member_required
from miaohua_site.forms import StudioForm
from miaohua_site.params import int_list, safe_next

# --- Tags ---------------------------------------------------------------------------------------------------------


def _editor_context(request, task, *, error="", typed=""):
    return {
        "task": task,
        "task_tags": library_tags.tags_of(task),
        "may_tag": library_tags.may_change(request.user, task),
        "tag_error": error,
        "tag_typed": typed,
    }


@member_required
@require_http_methods(["GET", "POST"])
def task_tags(request, pk):
    """One task's tags: GET the editor fragment; POST ``action`` add (``names``, commas between) or remove
    (``name``), answering the editor again — with the message beside the field and the text kept when refused."""
    if request.method == "GET":
        task = selectors.task_for_user(request.user, pk)
        return TemplateResponse(request, "library/_tags.html#editor", _editor_context(request, task))
    task = get_object_or_404(library_tags.changeable_tasks(request.user), pk=pk)
    action = request.POST.get("action", "add")
    typed = request.POST.get("names", "")
    try:
        if action == "remove":
            library_tags.tags_remove(user=request.user, task_ids=[task.pk], names=[request.POST.get("name", "")])
        else:
            library_tags.tags_add(user=request.user, task_ids=[task.pk], names=library_tags.parse_names(typed))
            typed = ""
    except library_tags.TagRefused as exc:
        context = _editor_context(request, task, error=str(exc), typed=typed)
        status = 200 if request.htmx else 400  # htmx swaps only 2xx answers: the editor comes back with its message
        return TemplateResponse(request, "library/_tags.html#editor", context, status=status)
    if request.htmx:
        return TemplateResponse(request, "library/_tags.html#editor", _editor_context(request, task))
    return redirect(safe_next(request, reverse("task_detail", args=[task.pk])))


@member_required
@require_POST
def tasks_tag(request):
    """The history's selection: add or remove tags on every selected task the user may change."""
    ids = int_list(request.POST, "task", limit=library_tags.MAX_TASKS_AT_ONCE)
    action = "remove" if request.POST.get("action") == "remove" else "add"
    typed = request.POST.get("names", "")
    back = safe_next(request, reverse("history"))
    error = "" if ids else gettext("Select the tasks to tag first.")
    names = []
    if not error:
        try:
            names = library_tags.parse_names(typed)
        except library_tags.TagRefused as exc:
            error = str(exc)
    if error:
        if request.htmx:
            context = {"tag_error": error, "tag_typed": typed}
            return TemplateResponse(request, "library/history.html#bulk-tag", context)
        messages.error(request, error)
        return redirect(back)
    if action == "add":
        count = library_tags.tags_add(user=request.user, task_ids=ids, names=names)
        message = ngettext("Tagged %(count)s task.", "Tagged %(count)s tasks.", count) % {"count": count}
    else:
        count = library_tags.tags_remove(user=request.user, task_ids=ids, names=names)
        message = ngettext("Removed the tags from %(count)s task.", "Removed the tags from %(count)s tasks.", count) % {
            "count": count
        }
    if count < len(set(ids)) and action == "add":
        skipped = len(set(ids)) - count
        message += " " + ngettext(
            "%(count)s selected task is not yours to tag.", "%(count)s selected tasks are not yours to tag.", skipped
        ) % {"count": skipped}
    messages.success(request, message)
    if request.htmx:  # the cards show the new tags: the page reloads (the message comes with it)
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect(back)


@login_required
@require_GET
def tag_suggestions(request):
    """The tags of the tasks the user can see, most used first, as <option>s for a <datalist> (``q`` a prefix)."""
    typed = request.GET.get("q", request.GET.get("names", ""))[:500]
    prefix = typed.rsplit(",", 1)[-1]  # the tag being typed, after the others
    context = {"suggestions": library_tags.suggestions(request.user, prefix)}
    return TemplateResponse(request, "library/_tags.html#suggestions", context)


# --- Saved searches -----------------------------------------------------------------------------------------------


class SavedSearchForm(StudioForm):
    name = forms.CharField(label=_("Name"), max_length=saved_searches.NAME_MAX)
    is_shared = forms.BooleanField(
        label=_("Share with the team"), required=False, help_text=_("Every member can open it; only you change it.")
    )


def _save_context(request, form, *, scope, query):
    return {"save_form": form, "save_scope": scope, "save_query": query}


@login_required
@require_GET
def saved_search_list(request):
    """Every saved search the user may open: their own, and the team's shared ones."""
    context = {"saved_searches": saved_searches.saved_searches_visible_to(request.user)}
    return TemplateResponse(request, "library/saved_searches.html", context)


@member_required
@require_POST
def saved_search_add(request):
    """Save the page's filters under a name (``scope`` history or gallery, ``query`` the page's query string)."""
    scope = request.POST.get("scope", SavedSearch.Scope.HISTORY)
    query = request.POST.get("query", "")
    form = SavedSearchForm(request.POST)
    if form.is_valid():
        try:
            search = saved_searches.saved_search_create(
                user=request.user, scope=scope, query=query, **form.cleaned_data
            )
        except saved_searches.SavedSearchRefused as exc:
            form.add_error("name" if exc.field == "name" else None, str(exc))
        else:
            if request.htmx:
                return TemplateResponse(request, "library/saved_searches.html#saved", {"search": search})
            messages.success(request, gettext("Search “%(name)s” saved.") % {"name": search.name})
            return redirect(saved_searches.url_of(search))
    context = _save_context(request, form, scope=scope, query=query)
    if request.htmx:  # htmx swaps only 2xx answers: the form comes back with its errors and what was typed
        return TemplateResponse(request, "library/saved_searches.html#save-form", context)
    context["saved_searches"] = saved_searches.saved_searches_visible_to(request.user)
    return TemplateResponse(request, "library/saved_searches.html", context, status=400)


@login_required
@require_GET
def saved_search_open(request, pk):
    """To its page with its filters: the reader sees only what they may see with them."""
    return redirect(saved_searches.url_of(saved_searches.saved_search_for_user(request.user, pk)))


@member_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def saved_search_edit(request, pk):
    search = saved_searches.saved_search_owned_by(request.user, pk)
    if request.method == "POST":
        form = SavedSearchForm(request.POST)
        if form.is_valid():
            try:
                saved_searches.saved_search_update(search=search, **form.cleaned_data)
            except saved_searches.SavedSearchRefused as exc:
                form.add_error("name", str(exc))
            else:
                messages.success(request, gettext("Search “%(name)s” saved.") % {"name": search.name})
                return redirect("collection_list")
        search.refresh_from_db()
        status = 200 if request.htmx else 400
    else:
        form = SavedSearchForm(initial={"name": search.name, "is_shared": search.is_shared})
        status = 200
    context = {"search": search, "edit_form": form}
    template = "library/saved_search_edit.html#edit-form" if request.htmx else "library/saved_search_edit.html"
    return TemplateResponse(request, template, context, status=status)


@member_required
@require_POST
def saved_search_delete(request, pk):
    search = saved_searches.saved_search_owned_by(request.user, pk)
    name = search.name
    saved_searches.saved_search_delete(search=search)
    messages.success(request, gettext("Search “%(name)s” deleted.") % {"name": name})
    return redirect(safe_next(request, reverse("collection_list")))
