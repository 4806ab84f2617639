"""Reads of the generation room that are not the library's: the queue (the nav badge, each queued card's
position). Who may see a task is library.selectors' to say."""

from django.db.models import Count, Q

from generation.models import GenerationTask
from library.selectors import own_tasks


def queue_count(user) -> int:
    """How many of the user's tasks are still on their way (queued, submitting or pending): the nav badge."""
    return own_tasks(user).filter(state__in=GenerationTask.IN_FLIGHT).count()


def queue_position(task: GenerationTask) -> int | None:
    """Where a queued task stands on its Miaohua account, counting the order the engine sends in (each account's
    members in turn: every member's oldest, then every member's second oldest, …; ``SubmitSource``): 1 = next.
    None when it is not queued. One query, one row per member with work queued on that account; only numbers
    leave it (never another member's prompt or name)."""
    if task.state != GenerationTask.State.QUEUED:
        return None
    older = Q(created_at__lt=task.created_at) | Q(created_at=task.created_at, pk__lt=task.pk)
    queued = GenerationTask.objects.filter(state=GenerationTask.State.QUEUED)
    if task.upstream_account_id is None:
        queued = queued.filter(upstream_account__isnull=True)
    else:
        queued = queued.filter(upstream_account_id=task.upstream_account_id)
    counts = {
        owner_id: (queued_, before)
        for owner_id, queued_, before in queued.values("owner_id")
        .annotate(queued=Count("pk"), before=Count("pk", filter=older))
        .order_by()
        .values_list("owner_id", "queued", "before")
    }
    turn = counts.get(task.owner_id, (0, 0))[1] + 1  # its place in its owner's own queue
    ahead = turn - 1
    for owner_id, (queued_, before) in counts.items():
        if owner_id != task.owner_id:
            # their tasks of the earlier turns, and their task of this turn when it is older
            ahead += min(queued_, turn - 1) + (1 if before >= turn else 0)
    return ahead + 1


def next_queue_position(user) -> int | None:
    """The position of the user's task that goes out first (their oldest queued): the queue badge. Two queries,
    only while the user has a task queued."""
    first = own_tasks(user).filter(state=GenerationTask.State.QUEUED).order_by("created_at", "id").first()
    return queue_position(first) if first is not None else None


def with_queue_positions(user, tasks):
    """The user's own queued tasks get ``queue_position`` (for their cards); others' none."""
    tasks = list(tasks)
    for task in tasks:
        task.queue_position = (
            queue_position(task) if task.owner_id == user.pk and task.state == GenerationTask.State.QUEUED else None
        )
    return tasks
