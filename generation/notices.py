"""The notices of finished batches and sweeps (issue #13): a toast on every page (and a browser notification
when the member allowed them) once every task of one of their groups is final.

Cheap, for a poll every 5 s: one UPDATE marks the member's unfinished groups whose tasks are all final
(``finished_at``, the first time it is seen; the index ``task_group_notices`` finds the unfinished ones), one
SELECT reads the unseen finished ones with their counts."""

from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from generation.models import GenerationTask, TaskGroup
from miaohua_site.i18n import shown

NOTICE_DAYS = 7  # a notice not dismissed goes away by itself after a week
MAX_NOTICES = 10


def settle(user, *, now=None) -> int:
    """Mark the member's groups whose every task is final as finished; how many were."""
    unfinished = GenerationTask.objects.filter(group=OuterRef("pk")).exclude(state__in=GenerationTask.FINAL)
    return (
        TaskGroup.objects.filter(owner=user, finished_at__isnull=True)
        .exclude(Exists(unfinished))
        .update(finished_at=now or timezone.now())
    )


def unseen(user):
    """The member's finished groups not dismissed yet (newest first), with their counts and first error."""
    since = timezone.now() - timedelta(days=NOTICE_DAYS)
    first_error = (
        GenerationTask.objects.filter(group=OuterRef("pk"), state=GenerationTask.State.FAILED)
        .order_by("group_index", "pk")
        .values("error_message")[:1]
    )
    return (
        TaskGroup.objects.filter(owner=user, finished_at__gte=since, notice_seen_at__isnull=True)
        .annotate(
            n_done=Count("tasks", filter=Q(tasks__state=GenerationTask.State.DONE), distinct=True),
            n_failed=Count("tasks", filter=Q(tasks__state=GenerationTask.State.FAILED), distinct=True),
            n_made=Count("tasks__images", distinct=True),
            first_error=Subquery(first_error),
        )
        .order_by("-finished_at", "-id")
    )


def notices_for(user) -> list[TaskGroup]:
    """What the poll shows: the groups finished since, each with ``state`` (done / partial / failed), ``title``
    and ``body`` in the reader's language."""
    if not getattr(user, "is_authenticated", False):
        return []
    settle(user)
    groups = list(unseen(user)[:MAX_NOTICES])
    for group in groups:
        group.state, group.title, group.body = wording(group)
    return groups


def wording(group) -> tuple[str, str, str]:
    """(state, title, body) of a finished group with its counts (``n_done``, ``n_failed``, ``n_made``)."""
    n = group.n_done + group.n_failed
    sweep = group.kind == TaskGroup.Kind.SWEEP
    if n and group.n_failed == n:
        title = (
            ngettext("Sweep failed: %(n)s task failed", "Sweep failed: all %(n)s tasks failed", n)
            if sweep
            else ngettext("Batch failed: %(n)s task failed", "Batch failed: all %(n)s tasks failed", n)
        ) % {"n": n}
        return "failed", title, shown(group.first_error or "")
    if group.n_failed:
        values = {"done": group.n_done, "n": n, "failed": group.n_failed}
        title = (
            ngettext(
                "Sweep finished: %(done)s of %(n)s task done, %(failed)s failed",
                "Sweep finished: %(done)s of %(n)s tasks done, %(failed)s failed",
                n,
            )
            if sweep
            else ngettext(
                "Batch finished: %(done)s of %(n)s task done, %(failed)s failed",
                "Batch finished: %(done)s of %(n)s tasks done, %(failed)s failed",
                n,
            )
        ) % values
        return "partial", title, shown(group.first_error or "")
    if sweep:
        title = ngettext(
            "Sweep finished: %(done)s of %(n)s task done", "Sweep finished: %(done)s of %(n)s tasks done", n
        ) % {"done": group.n_done, "n": n}
    else:
        title = ngettext(
            "Batch finished: %(made)s of %(total)s image",
            "Batch finished: %(made)s of %(total)s images",
            group.n_images,
        ) % {"made": group.n_made, "total": group.n_images}
    body = gettext("Cancelled before the end.") if group.cancelled_at else ""
    return "done", title, body


def dismiss(user, group_ids=None) -> int:
    """The member has read these notices (or all of them); another member's ids are ignored."""
    settle(user)  # a notice shown by a toast a moment ago may not be marked yet
    groups = TaskGroup.objects.filter(owner=user, finished_at__isnull=False, notice_seen_at__isnull=True)
    if group_ids is not None:
        groups = groups.filter(pk__in=group_ids)
    return groups.update(notice_seen_at=timezone.now())


def group_url(group) -> str:
    """Where a notice leads: a sweep's page when the sweeps room has one, else the Generate page at the group."""
    from django.urls import NoReverseMatch, reverse

    if group.kind == TaskGroup.Kind.SWEEP:
        try:
            return reverse("sweep_detail", args=[group.pk])
        except NoReverseMatch:
            pass
    return f"{reverse('generate')}?group={group.pk}#group-{group.pk}"
