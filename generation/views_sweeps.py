"""X/Y/Z sweep pages (issue #13): the live estimate beside the Generate form, the sweep's page with its grid
(polled while it fills in), cancel, and the grid as one PNG or the tasks as a ZIP. Only the sweep's owner sees
any of it (everyone else: 404); each task stays an ordinary task in history."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from generation import catalog
from generation import selectors_sweeps as selectors
from generation.services import sweeps as services
from library import exports
from miaohua_site.accounts.decorators import member_required, upstream_account_required
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent


@upstream_account_required
@require_POST
def sweep_estimate(request):
    """The estimate under the sweep panel, as the form changes (htmx, the whole form posted). Reads the catalogs
    from the cache and counts; stores nothing and never calls the vendor."""
    cats = catalog.generate_catalogs(request.upstream_account)
    estimate = services.sweep_estimate(user=request.user, data=request.POST, cats=cats)
    return TemplateResponse(request, "generation/_sweep_panel.html#estimate", {"estimate": estimate})


def _grid_context(group):
    grid = selectors.sweep_grid(group)
    return {"group": group, "grid": grid}


@login_required
@require_GET
def sweep_detail(request, pk):
    group = selectors.sweep_for_user(request.user, pk)
    return TemplateResponse(request, "generation/sweep_detail.html", _grid_context(group))


@login_required
@require_GET
def sweep_grid(request, pk):
    """The polled grid: every 2 s while cells fill in; 286 once every task is settled."""
    group = selectors.sweep_for_user(request.user, pk)
    context = _grid_context(group)
    response = TemplateResponse(request, "generation/sweep_detail.html#grid", context)
    if context["grid"].finished:
        response.status_code = HttpResponseStopPolling.status_code
    return response


def say_cancelled(request, cancelled: int) -> None:
    """What cancelling a sweep or a batch did, as a message on the next page."""
    if cancelled:
        messages.success(
            request,
            ngettext(
                "Cancelled: %(n)s task not sent yet will not be sent.",
                "Cancelled: %(n)s tasks not sent yet will not be sent.",
                cancelled,
            )
            % {"n": cancelled},
        )
    else:
        messages.info(request, gettext("Nothing was left to cancel: every task had been sent already."))


@member_required
@require_POST
def sweep_cancel(request, pk):
    group = selectors.sweep_for_user(request.user, pk)
    say_cancelled(request, services.group_cancel(group))
    if request.htmx:
        response = TemplateResponse(request, "generation/sweep_detail.html#grid", _grid_context(group))
        response["HX-Refresh"] = "true"
        return response
    return redirect("sweep_detail", pk=group.pk)


@login_required
@require_GET
def sweep_png(request, pk):
    group = selectors.sweep_for_user(request.user, pk)
    png = services.grid_png(selectors.sweep_grid(group))
    response = HttpResponse(png, content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="sweep-{group.pk}.png"'
    return response


@login_required
@require_GET
def sweep_zip(request, pk):
    group = selectors.sweep_for_user(request.user, pk)
    tasks = selectors.sweep_tasks(group).filter(deleted_at__isnull=True)
    archive = exports.zip_tasks(tasks)
    audit.record(
        AuditEvent.Action.ZIP_DOWNLOADED,
        target=f"Sweep #{group.pk}",
        task_ids=sorted(tasks.values_list("pk", flat=True)),
    )
    return FileResponse(archive, as_attachment=True, filename=f"sweep-{group.pk}.zip", content_type="application/zip")
