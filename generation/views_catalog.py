"""The Catalog page: base models, LoRAs, my models and both ControlNet lists, searched and paged at the vendor
(read from the cache, fetched by the worker: generation.catalog)."""

from urllib.parse import urlencode

from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from generation import catalog as catalogs
from miaohua_site.accounts.decorators import upstream_account_required
from miaohua_site.params import page_param

CATALOG_PER_PAGE = 24
CATALOG_KINDS = {
    "base": _("Base models"),
    "lora": _("LoRAs"),
    "private": _("My models"),
    "cn_artist": _("Artist ControlNets"),
    "cn_opensource": _("Open-source ControlNets"),
}


def _matches(controlnet, query: str) -> bool:
    text = " ".join([controlnet.name, controlnet.local_name, controlnet.desc]).lower()
    return query.lower() in text


@upstream_account_required
@require_GET
@vary_on_headers("HX-Request")
def catalog(request):
    """Base models, LoRAs, my models and both ControlNet lists, searched and paged at the vendor. The page renders
    at once from the cache (generation.catalog); while the worker fetches a page the results are a placeholder
    that polls this URL (htmx: the ``results`` fragment), answered with 286 once they are in."""
    kind = request.GET.get("kind", "base")
    kind = kind if kind in CATALOG_KINDS else "base"
    query = request.GET.get("q", "").strip()[:100]
    page = page_param(request.GET)
    account = request.upstream_account
    context = {
        "kinds": CATALOG_KINDS,
        "kind": kind,
        "kind_label": CATALOG_KINDS[kind],
        "q": query,
        "page": page,
        "is_controlnet": kind.startswith("cn_"),
    }

    def link(**changes) -> str:
        params = {"kind": kind, "q": query, "page": page, **changes}
        if params["page"] == 1:
            del params["page"]
        if not params["q"]:
            del params["q"]
        return "?" + urlencode(params)

    force = request.GET.get("refresh") == "1" or request.GET.get("retry") == "1"
    if context["is_controlnet"]:
        cached = catalogs.controlnets(account, opensource=kind == "cn_opensource", force=force)
        entries = [cn for cn in cached.value or [] if not query or _matches(cn, query)]
        has_next = False
    else:
        cached = catalogs.catalog_page(account, kind, page=page, per_page=CATALOG_PER_PAGE, query=query, force=force)
        entries, has_next = (cached.value.models, cached.value.has_next) if cached.ready else ([], False)
    results = catalogs.picker_state("results", [cached])
    results.url = link()
    context.update(
        cached=cached,
        results=results,
        entries=entries,
        fetched_at=cached.fetched_at,
        has_next=has_next,
        previous_url=link(page=page - 1) if page > 1 else "",
        next_url=link(page=page + 1) if has_next else "",
        refresh_url=link(refresh=1),
        # Polls while the list is on its way, or a refresh of the (stale) list shown runs.
        polling=results.waiting or (cached.ready and cached.refreshing),
    )
    if request.htmx:
        response = TemplateResponse(request, "generation/catalog.html#results", context)
        if not context["polling"]:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return TemplateResponse(request, "generation/catalog.html", context)
