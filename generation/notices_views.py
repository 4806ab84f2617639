"""The finished batches' and sweeps' notices, polled by every page of a member who generates (issue #13)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from generation import notices
from miaohua_site.params import int_list, safe_next
from team.context_processors import roles as role_context
from team.roles import can_generate


def _fragment(request, *, status=200):
    groups = notices.notices_for(request.user)
    for group in groups:
        group.url = notices.group_url(group)
    context = {"group_notices": groups, "polled": True}
    return TemplateResponse(request, "generation/_group_notices.html#group_notices", context, status=status)


@login_required
@require_GET
def group_notices(request):
    # A viewer makes no groups and gets no poller; a stale one stops. The role is read from the cache (as the
    # pages' can_generate is), so a poll is the notices' two queries.
    if not role_context(request)["can_generate"]:
        return HttpResponseStopPolling()
    return _fragment(request)


@login_required
@require_POST
def group_notices_dismiss(request):
    if not can_generate(request.user):
        return HttpResponseStopPolling() if request.htmx else redirect("home")
    ids = int_list(request.POST, "group") or None
    notices.dismiss(request.user, ids)
    if request.htmx:
        return _fragment(request)
    return redirect(safe_next(request, "/"))
