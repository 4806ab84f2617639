"""The Styles pages (issue #13): the list (personal and team, with sample thumbnails), create, edit, delete, and
"Save these settings as a style" from the Generate form (an htmx fragment: the form itself is not re-rendered).

Who: a personal style is its owner's (anyone else gets 404); team styles are seen and used by everyone, and
created, changed and deleted by admins (a member gets 403, as on the team's other admin pages); viewers, who
cannot generate, may look at the list only."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from generation import style_forms, styles
from generation.models import Style
from team.roles import can_generate


def _refuse_viewers(user) -> None:
    if not can_generate(user):
        raise PermissionDenied(gettext("Viewers see the team's styles; they cannot make or change them."))


def _style_to_change(user, pk) -> Style:
    """A style ``user`` may change: someone else's personal one is a 404, a team style a 403 for members."""
    style = styles.style_for_user(user, pk)
    if not styles.may_change(user, style):
        raise PermissionDenied(gettext("Only admins can change the team's styles."))
    return style


@login_required
@require_GET
def style_list(request):
    listed = styles.with_samples(styles.styles_usable_by(request.user).select_related("owner"), request.user)
    listed = list(listed)
    context = {
        "personal": [s for s in listed if s.scope == Style.Scope.PERSONAL],
        "team": [s for s in listed if s.scope == Style.Scope.TEAM],
        "may_make": can_generate(request.user),
    }
    return TemplateResponse(request, "generation/styles.html", context)


def _form_page(request, form, *, style=None, status=200):
    context = {"form": form, "style": style, "size_presets": form.sizes}
    return TemplateResponse(request, "generation/style_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def style_create(request):
    _refuse_viewers(request.user)
    cats = style_forms.catalogs_for(request.user)
    instance = Style(owner=request.user)
    if request.method == "POST":
        form = style_forms.StyleForm(request.POST, user=request.user, cats=cats, instance=instance)
        if form.is_valid():
            style = style_forms.style_save(form=form, user=request.user)
            messages.success(request, gettext("Style “%(name)s” saved.") % {"name": style.name})
            return redirect("style_list")
        return _form_page(request, form, status=400)
    scope = Style.Scope.TEAM if request.GET.get("scope") == "team" and request.user.is_staff else Style.Scope.PERSONAL
    form = style_forms.StyleForm(user=request.user, cats=cats, instance=instance, initial={"scope": scope})
    return _form_page(request, form)


@login_required
@require_http_methods(["GET", "POST"])
def style_edit(request, pk):
    _refuse_viewers(request.user)
    style = _style_to_change(request.user, pk)
    cats = style_forms.catalogs_for(request.user)
    if request.method == "POST":
        form = style_forms.StyleForm(request.POST, user=request.user, cats=cats, instance=style)
        if form.is_valid():
            style = style_forms.style_save(form=form, user=request.user)
            messages.success(request, gettext("Style “%(name)s” saved.") % {"name": style.name})
            return redirect("style_list")
        style.refresh_from_db()  # the page's title keeps the saved name
        return _form_page(request, form, style=style, status=400)
    form = style_forms.StyleForm(user=request.user, cats=cats, instance=style)
    return _form_page(request, form, style=style)


@login_required
@require_http_methods(["GET", "POST"])
def style_delete(request, pk):
    _refuse_viewers(request.user)
    style = _style_to_change(request.user, pk)
    if request.method == "POST":
        name = style.name
        style_forms.style_delete(style=style)
        messages.success(
            request, gettext("Style “%(name)s” deleted. Tasks made with it keep its name.") % {"name": name}
        )
        return redirect("style_list")
    return TemplateResponse(request, "generation/style_delete.html", {"style": style, "n_tasks": style.tasks.count()})


@login_required
@require_POST
def style_from_generate(request):
    """ "Save these settings as a style", posted with the whole Generate form (hx-include): without
    ``newstyle-save`` it answers the small form prefilled from the Generate form; with it, saves (or shows the
    errors beside the fields) and answers the picker with the new style in it. The Generate form stays as it is."""
    _refuse_viewers(request.user)
    cats = style_forms.catalogs_for(request.user)
    keep_form = style_forms.SaveAsStyleForm(
        request.POST if "newstyle-save" in request.POST else None, prefix="newstyle"
    )
    saved = None
    if "newstyle-save" in request.POST:
        data = style_forms.generate_post_as_style_data(request.POST)
        form = style_forms.StyleForm(
            data, user=request.user, cats=cats, instance=Style(owner=request.user), prefix="newstyle", compact=True
        )
        if keep_form.is_valid() and form.is_valid():
            saved = style_forms.style_save(form=form, user=request.user)
            form = None
    else:
        form = style_forms.StyleForm(
            user=request.user,
            cats=cats,
            instance=Style(owner=request.user),
            prefix="newstyle",
            compact=True,
            initial=style_forms.initial_from_generate(request.POST),
        )
        keep_form = style_forms.SaveAsStyleForm(prefix="newstyle", initial={"keep": []})
    styles_form = styles.StylesForm(request.POST, user=request.user, prefix="style")
    context = {"styles_form": styles_form, "save_form": form, "keep_form": keep_form, "saved": saved}
    return TemplateResponse(request, "generation/_styles_field.html#save_answer", context)
