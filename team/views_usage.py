"""Usage (/team/usage/): images, tasks, failures and training jobs over a range, as a chart, tables and a CSV.

Each member sees only their own usage (another member's id is a 404, never their numbers); admins see everyone's,
or one person's. Reading usage is not an admin action: nothing is written to the audit log, also when an admin
exports everyone's."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from miaohua_site.accounts.services import account_for_user
from team import usage as selectors


def _filters(request) -> tuple[selectors.UsageFilters, int | None, list]:
    """The filters, whose usage they may show (a user id, or None for everyone) and the people an admin may pick."""
    user = request.user
    # A member's own usage is most telling by model; an admin's first question is "who".
    filters = selectors.UsageFilters.from_query(request.GET, breakdown="member" if user.is_staff else "model")
    if not user.is_staff:
        if (request.GET.get("member") or "").strip() and filters.member != user.pk:
            raise Http404(gettext("No such member."))
        filters.errors.pop("member", None)
        filters.member = None
        return filters, user.pk, []
    people = selectors.people()
    if filters.member is not None and filters.member not in {person.pk for person in people}:
        filters.errors["member"] = gettext("Choose a person from the list.")
    return filters, filters.member, people


def _names(request, people: list) -> dict[int, str]:
    """The user names the page may show: everyone's for an admin (already read), one's own otherwise."""
    if request.user.is_staff:
        return {person.pk: person.username for person in people}
    return {request.user.pk: request.user.get_username()}


def _context(request, filters, owner_id, people) -> dict:
    context = {
        "filters": filters,
        "people": people,
        "periods": selectors.PERIODS,
        "breakdowns": selectors.BREAKDOWNS,
        "everyone": request.user.is_staff and owner_id is None,
        "member_name": next((person.username for person in people if person.pk == owner_id), ""),
        "period_label": selectors.PERIODS[filters.period],
        "breakdown_label": selectors.BREAKDOWNS[filters.breakdown],
        "breakdown_word": selectors.WORDS[filters.breakdown][0],
        "breakdown_words": selectors.WORDS[filters.breakdown][1],
        "time_zone": settings.TIME_ZONE,
    }
    if filters.errors:
        return context
    lora_account = account_for_user(request.user) if filters.breakdown == "lora" else None
    names = _names(request, people)
    report = selectors.usage_report(filters, owner_id=owner_id, people=names, lora_account=lora_account)
    reasons, failed = selectors.failures_by_reason(filters, owner_id=owner_id)
    context.update(
        usage=report,
        chart=selectors.bar_chart(report),
        reasons=reasons,
        failed=failed,
        training=selectors.training_report(filters, owner_id=owner_id, people=names),
        export_query=filters.query(),
    )
    return context


@login_required
@require_GET
def index(request):
    filters, owner_id, people = _filters(request)
    context = _context(request, filters, owner_id, people)
    return TemplateResponse(request, "team/usage.html", context, status=400 if filters.errors else 200)


@login_required
@require_GET
def export(request):
    filters, owner_id, people = _filters(request)
    if filters.errors:
        return TemplateResponse(request, "team/usage.html", _context(request, filters, owner_id, people), status=400)
    lora_account = account_for_user(request.user) if filters.breakdown == "lora" else None
    report = selectors.usage_report(
        filters, owner_id=owner_id, people=_names(request, people), lora_account=lora_account
    )
    response = HttpResponse(selectors.csv_text(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{selectors.csv_filename(filters)}"'
    return response
