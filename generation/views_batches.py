"""Batches on the Generate page (issue #13): the batch fields' live preview (what a dynamic prompt expands to,
from the form as it is, hx-include, without calling Miaohua), and a stored batch's progress strip and cancel."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from generation import batches
from generation.models import GenerationTask, TaskGroup
from generation.services import sweeps as sweep_services
from generation.views_sweeps import say_cancelled
from miaohua_site.accounts.decorators import member_required


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


# --- A batch on the Generate page: its progress strip (polled) and cancelling what is not sent yet ----------


def _batch_for_user(user, pk) -> TaskGroup:
    """The user's own batch, or Http404 (someone else's, a sweep — it has its own page —, a made-up id)."""
    group = TaskGroup.objects.filter(owner=user, kind=TaskGroup.Kind.BATCH, pk=pk).first()
    if group is None:
        raise Http404(gettext("No such batch."))
    return group


@dataclass(frozen=True)
class BatchProgress:
    group: TaskGroup
    total: int
    done: int
    failed: int

    @property
    def waiting(self) -> int:
        return self.total - self.done - self.failed

    @property
    def finished(self) -> bool:
        return self.waiting == 0


def batch_progress(group: TaskGroup) -> BatchProgress:
    """How far a batch is, in one query."""
    counts = GenerationTask.objects.filter(group=group).aggregate(
        total=Count("pk"),
        done=Count("pk", filter=Q(state=GenerationTask.State.DONE)),
        failed=Count("pk", filter=Q(state=GenerationTask.State.FAILED)),
    )
    return BatchProgress(group=group, **counts)


def batch_strip_for(user, pk) -> BatchProgress | None:
    """The Generate page's ?group=: the strip of the user's own batch; nothing for anything else."""
    group = TaskGroup.objects.filter(owner=user, kind=TaskGroup.Kind.BATCH, pk=pk).first() if pk else None
    return batch_progress(group) if group is not None else None


@login_required
@require_GET
def batch_strip(request, pk):
    """The strip, polled every 2 s while tasks of the batch are in flight; 286 once every one is final."""
    progress = batch_progress(_batch_for_user(request.user, pk))
    response = TemplateResponse(request, "generation/_batch_strip.html", {"batch": progress})
    if progress.finished:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@member_required
@require_POST
def batch_cancel(request, pk):
    group = _batch_for_user(request.user, pk)
    say_cancelled(request, sweep_services.group_cancel(group))
    return redirect(f"{reverse('generate')}?group={group.pk}#group-{group.pk}")
