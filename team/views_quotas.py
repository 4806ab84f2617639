"""The quotas page (admins): the team's default quotas, each member's own limits with what they used, and the
80 % alerts; and the Generate page's "what is left" line, for everyone who generates."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from miaohua_site.accounts.decorators import staff_required
from miaohua_site.params import int_list
from team import selectors_quotas as selectors
from team.forms_quotas import MemberQuotaForm, TeamQuotaForm
from team.models import TeamSettings
from team.services import quotas


def _limits_initial(obj) -> dict:
    return {kind: getattr(obj, kind, None) for kind in quotas.KINDS}


def _member_form(user, membership, data=None) -> MemberQuotaForm:
    prefix = f"m{user.pk}"
    form = MemberQuotaForm(data, prefix=prefix, initial=_limits_initial(membership))
    for field in form.fields.values():
        field.widget.attrs["form"] = f"quota-{prefix}"  # the row's inputs belong to the form in its last cell
    return form


def _page(request, *, team_form=None, bound_row=None, status=200):
    periods = quotas.Periods.of()
    rows = selectors.members_with_quotas(periods)
    for row in rows:
        row.form = bound_row[1] if bound_row and bound_row[0] == row.user.pk else _member_form(row.user, row.membership)
    context = {
        "team_form": team_form or TeamQuotaForm(initial=_limits_initial(TeamSettings.load())),
        "rows": rows,
        "alerts": selectors.unseen_alerts(),
        "periods": periods,
    }
    return TemplateResponse(request, "team/quotas.html", context, status=status)


@staff_required
@require_GET
def index(request):
    return _page(request)


@staff_required
@require_POST
def team_defaults(request):
    form = TeamQuotaForm(request.POST)
    if not form.is_valid():
        return _page(request, team_form=form, status=400)
    if quotas.team_quotas_update(values=form.cleaned_data):
        messages.success(request, gettext("The team's default quotas are saved."))
    else:
        messages.info(request, gettext("The team's default quotas were already these."))
    return redirect("team_quotas")


@staff_required
@require_POST
def member_quotas(request, pk):
    user = get_object_or_404(get_user_model().objects.filter(is_active=True), pk=pk)
    membership = quotas.ensure_membership(user)
    form = _member_form(user, membership, request.POST)
    if not form.is_valid():
        return _page(request, bound_row=(user.pk, form), status=400)
    name = user.get_username()
    if quotas.member_quotas_update(user=user, values=form.cleaned_data):
        messages.success(request, gettext("The quotas of %(name)s are saved.") % {"name": name})
    else:
        messages.info(request, gettext("The quotas of %(name)s were already these.") % {"name": name})
    return redirect(f"{reverse('team_quotas')}#member-{user.pk}")


@staff_required
@require_POST
def alerts_seen(request):
    ids = int_list(request.POST, "alert") or None
    seen = quotas.quota_alerts_mark_seen(ids=ids)
    messages.success(request, gettext("Marked as seen.") if seen else gettext("Nothing left to mark."))
    return redirect("team_quotas")


@login_required
@require_GET
def quota_left(request):
    """The Generate page's line, polled while tasks run (what is left changes as they finish or fail)."""
    status = quotas.quota_status(request.user)
    response = TemplateResponse(request, "generation/generate.html#quota_left", {"quota": status})
    if not status.running:
        response.status_code = HttpResponseStopPolling.status_code
    return response
