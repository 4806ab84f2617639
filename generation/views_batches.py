"""The batch fields' live preview (issue #13): what a dynamic prompt expands to, from the Generate form as it is
(hx-include), without calling Miaohua."""

from django.contrib.auth.decorators import login_required
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from generation import batches


@login_required
@require_GET
def batch_preview(request):
    form = batches.BatchForm(request.GET, prefix="batch")
    valid = form.is_valid()
    mode = form.cleaned_data.get("mode") if valid else request.GET.get("batch-mode", batches.RANDOM)
    count = form.cleaned_data.get("count") if valid else 1
    preview = batches.preview(
        prompt=request.GET.get("prompt", "")[:5000],
        neg_prompt=request.GET.get("neg_prompt", "")[:5000],
        mode=mode if mode in (batches.RANDOM, batches.COMBINATIONS) else batches.RANDOM,
        count=count or 1,
    )
    return TemplateResponse(request, "generation/_batch_field.html#batch_preview", {"preview": preview})
