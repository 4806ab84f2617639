"""models/base, models/lora, models/private, cn/artist, cn/opensource and their demo pictures."""

from django.db.models import Q

from miaohua_site.simulator import catalog, links, render
from miaohua_site.simulator.errors import illegal
from miaohua_site.simulator.models import SimAccount, SimModel
from miaohua_site.simulator.services import training
from miaohua_site.simulator.validation import is_int

MAX_PER_PAGE = 100
DEMO_SIDE = 512
CN_PICTURES = ("picture", "preview", "result")


def _page_params(body: dict) -> tuple[int, int, str]:
    page, per_page, query = body.get("page", 1), body.get("per_page", 20), body.get("query") or ""
    if not is_int(page) or page < 1:
        raise illegal(f"page must be a positive integer, got {page!r}")
    if not is_int(per_page) or not 1 <= per_page <= MAX_PER_PAGE:
        raise illegal(f"per_page must be an integer from 1 to {MAX_PER_PAGE}, got {per_page!r}")
    if not isinstance(query, str):
        raise illegal(f"query must be a string, got {query!r}")
    return page, per_page, query.strip()


def models_page(request, *, account: SimAccount, kind: str, body: dict) -> dict:
    """One page of a model list; `query` matches name, description, tag or author, ignoring case."""
    page, per_page, query = _page_params(body)
    if kind == SimModel.Kind.PRIVATE:
        training.trainings_settle(account=account)
        models = SimModel.objects.filter(kind=kind, owner=account)
    else:
        models = SimModel.objects.filter(kind=kind)
    if query:
        models = models.filter(
            Q(model_name__icontains=query)
            | Q(description__icontains=query)
            | Q(tag__icontains=query)
            | Q(author__icontains=query)
        )
    models = models.order_by("model_id", "id")
    chosen = list(models[(page - 1) * per_page : page * per_page + 1])
    return {
        "has_next": len(chosen) > per_page,
        "page": page,
        "per_page": per_page,
        "models": [model_answer(request, m) for m in chosen[:per_page]],
    }


def model_answer(request, model: SimModel) -> dict:
    return {
        "author": model.author,
        "base_model": model.base_model,
        "demo_picture": links.signed(request, "demo_file", slug=model.versionid),
        "description": model.description,
        "is_opensource": model.is_opensource,
        "model_id": model.model_id,
        "model_name": model.model_name,
        "tag": model.tag,
        "versionid": model.versionid,
    }


def cn_list(request, list_name: str) -> list[dict]:
    return [
        {
            "name": name,
            "local_name": local_name,
            "desc": desc,
            **{
                f"demo_{kind}": links.signed(request, "demo_file", slug=f"cn-{list_name}-{name}-{kind}")
                for kind in CN_PICTURES
            },
        }
        for name, (local_name, desc) in catalog.CN_LISTS[list_name].items()
    ]


def _demo_title(slug: str) -> str | None:
    if slug.startswith("cn-"):
        parts = slug.split("-")
        if len(parts) == 4 and parts[1] in catalog.CN_LISTS and parts[3] in CN_PICTURES:
            if parts[2] in catalog.CN_LISTS[parts[1]]:
                return f"ControlNet {parts[2]} ({parts[1]}): demo {parts[3]}"
        return None
    model = SimModel.objects.filter(versionid=slug).first()
    return f"{model.model_name} ({model.tag or model.kind}) by {model.author}" if model else None


def demo_file(slug: str):
    """The demo picture file behind a catalog entry's link, or None for an unknown entry."""
    title = _demo_title(slug)
    if title is None:
        return None
    key = render.key_for({"demo": slug})
    return render.cached(
        key,
        "large",
        lambda: render.compose(key=key, width=DEMO_SIDE, height=DEMO_SIDE, title="SIMULATED", lines=[title]),
    )
