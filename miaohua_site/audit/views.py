"""The audit log page for admins: a dense table, filters in the URL, keyset pages, and the CSV of the filtered
events."""

from django.conf import settings
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from miaohua_site.accounts.decorators import staff_required
from miaohua_site.audit import exports, selectors
from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent

PAGE_SIZE = 50


@staff_required
@require_GET
@vary_on_headers("HX-Request")
def audit_log(request):
    filters = selectors.AuditFilters.from_query(request.GET)
    cursor = request.GET.get("cursor", "")
    if filters.errors:
        rows, next_cursor = [], ""
    else:
        rows, next_cursor = selectors.page_of(filters.apply(selectors.events()), cursor=cursor, size=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {"events": rows, "next_cursor": next_cursor, "filters": filters, "query": query.urlencode()}
    if request.htmx and cursor:
        return TemplateResponse(request, "audit/audit_log.html#page", context)
    context.update(
        people=selectors.people(), actions=AuditEvent.Action.choices, retention_days=settings.AUDIT_RETENTION_DAYS
    )
    return TemplateResponse(request, "audit/audit_log.html", context)


@staff_required
@require_GET
def audit_export(request):
    filters = selectors.AuditFilters.from_query(request.GET)
    if filters.errors:
        return audit_log(request)
    audit.record(AuditEvent.Action.AUDIT_EXPORTED, target="Audit log as CSV", query=request.GET.urlencode())
    lines = exports.csv_lines(filters.apply(selectors.events()))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{exports.filename()}"'
    return response
