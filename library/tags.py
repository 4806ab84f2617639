"""Tags: free-form words put on tasks, shared by the team (one Tag row per folded name, Tag.key_of).

Who may change a task's tags is who may change the task: its owner, and admins any task; viewers none. A task id
the user may not change is simply not touched (the view says how many were). Who sees a tag follows who sees the
task (library.selectors.visible_to): suggestions and the filter chips read only the tasks the reader may see, so a
tag that lives only on someone's unshared task is never offered to anyone else. A Tag row nothing uses any more is
removed with its last TaskTag (tasks purged from the trash leave theirs: every read starts from TaskTag anyway).

Changing tags is not audited: like favourites and collections it arranges one's own library, it changes no work."""

import re
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Aggregate, CharField, Count, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext

from generation.models import GenerationTask
from library import selectors
from library.models import Tag, TaskTag
from team.roles import can_generate

MAX_TAGS_AT_ONCE = 10
MAX_TASKS_AT_ONCE = 500


class TagRefused(ValueError):
    """What was typed is not a tag (empty, too long, a comma): the message is for the person, beside the field."""


def normalise(name: str) -> str:
    """One tag as it is stored and shown: trimmed, runs of spaces as one. Refuses empty, too long and commas."""
    shown = " ".join(str(name).split())
    if not shown:
        raise TagRefused(gettext("Type a tag."))
    if "," in shown:
        raise TagRefused(gettext("A tag cannot contain a comma: commas separate tags."))
    if len(shown) > Tag.MAX_LENGTH:
        raise TagRefused(
            gettext("A tag has at most %(max)s characters: “%(name)s…” is longer.")
            % {"max": Tag.MAX_LENGTH, "name": shown[:20]}
        )
    if "\x00" in shown:
        raise TagRefused(gettext("A tag cannot contain a NUL character."))
    return shown


def parse_names(text: str) -> list[str]:
    """Tags typed in one field, separated by commas; each normalised, duplicates (by key) once. Refuses none."""
    names, keys = [], set()
    for piece in str(text).split(","):
        if not piece.strip():
            continue
        name = normalise(piece)
        if Tag.key_of(name) not in keys:
            keys.add(Tag.key_of(name))
            names.append(name)
    if not names:
        raise TagRefused(gettext("Type a tag."))
    if len(names) > MAX_TAGS_AT_ONCE:
        raise TagRefused(gettext("Add at most %(max)s tags at once.") % {"max": MAX_TAGS_AT_ONCE})
    return names


# --- Who may change ---------------------------------------------------------------------------------------------


def changeable_tasks(user) -> QuerySet[GenerationTask]:
    """The tasks whose tags ``user`` may change: their own, every one for admins, none for viewers; not deleted."""
    if not can_generate(user):
        return GenerationTask.objects.none()
    tasks = GenerationTask.objects.filter(deleted_at__isnull=True)
    return tasks if user.is_staff else tasks.filter(owner=user)


def may_change(user, task: GenerationTask) -> bool:
    return can_generate(user) and task.deleted_at is None and (user.is_staff or task.owner_id == user.pk)


# --- Writes -------------------------------------------------------------------------------------------------------


def tags_add(*, user, task_ids: Iterable[int], names: list[str]) -> int:
    """Put ``names`` (already parsed) on those of ``task_ids`` the user may change: how many tasks were touched."""
    ids = list(changeable_tasks(user).filter(pk__in=list(task_ids)[:MAX_TASKS_AT_ONCE]).values_list("pk", flat=True))
    if not ids or not names:
        return 0
    with transaction.atomic():
        tags = []
        for name in names:
            tag, _ = Tag.objects.get_or_create(key=Tag.key_of(name), defaults={"name": name})
            tags.append(tag)
        now = timezone.now()
        TaskTag.objects.bulk_create(
            [TaskTag(task_id=pk, tag=tag, added_by=user, added_at=now) for pk in ids for tag in tags],
            ignore_conflicts=True,  # already there: kept as it was
        )
    return len(ids)


def tags_remove(*, user, task_ids: Iterable[int], names: list[str]) -> int:
    """Take ``names`` off those of ``task_ids`` the user may change: how many tasks lost at least one of them.
    A tag nothing uses any more goes with its last use."""
    keys = [Tag.key_of(name) for name in names]
    ids = changeable_tasks(user).filter(pk__in=list(task_ids)[:MAX_TASKS_AT_ONCE]).values("pk")
    with transaction.atomic():
        uses = TaskTag.objects.filter(task__in=ids, tag__key__in=keys)
        touched = len(set(uses.values_list("task_id", flat=True)))
        tag_ids = list(uses.values_list("tag_id", flat=True).distinct())
        uses.delete()
        Tag.objects.filter(pk__in=tag_ids, task_tags__isnull=True).delete()
    return touched


# --- Reads --------------------------------------------------------------------------------------------------------


def tags_of(task: GenerationTask) -> list[Tag]:
    """A task's tags, by name (one query). The task was fetched through a selector: the caller may see it."""
    return list(Tag.objects.filter(task_tags__task=task).order_by("key"))


def _counted(uses: QuerySet[TaskTag], limit: int) -> list[dict]:
    rows = uses.order_by().values("tag__name", "tag__key").annotate(n=Count("id")).order_by("-n", "tag__key")
    return [{"name": row["tag__name"], "key": row["tag__key"], "n": row["n"]} for row in rows[:limit]]


def suggestions(user, prefix: str = "", limit: int = 20) -> list[dict]:
    """The tags on tasks ``user`` can see, most used first ({name, key, n}); those starting with ``prefix``
    (folded) first if a prefix is given. Never a tag found only on tasks the user cannot see."""
    uses = TaskTag.objects.filter(selectors.visible_to(user, "task__"))
    key = Tag.key_of(prefix)[: Tag.MAX_LENGTH]
    if key:
        uses = uses.filter(tag__key__startswith=key)
    return _counted(uses, limit)


def most_used(task_ids: Iterable[int], limit: int = 12) -> list[dict]:
    """The most used tags of these tasks (the filter bar's chips: a bounded sample the caller already may see)."""
    return _counted(TaskTag.objects.filter(task_id__in=list(task_ids)), limit)


class _TagNames(Aggregate):
    """The names of a task's tags joined by commas (a tag has none): GROUP_CONCAT, STRING_AGG on PostgreSQL."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s, ',')"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="STRING_AGG", **extra)


def with_tag_names(tasks: QuerySet[GenerationTask]) -> QuerySet[GenerationTask]:
    """Each task with ``tag_names`` ("a,b" or None) read inside the page's own query: a page with tags costs no
    query more than one without, whatever its size (a correlated subquery on the (task, tag) unique index)."""
    names = (
        TaskTag.objects.filter(task=OuterRef("pk"))
        .order_by()
        .values("task")
        .annotate(names=_TagNames("tag__name"))
        .values("names")
    )
    return tasks.annotate(tag_names=Subquery(names, output_field=CharField()))


def split_names(joined: str | None) -> list[str]:
    """``tag_names`` as a sorted list (the database joins them in no promised order)."""
    return sorted((name for name in (joined or "").split(",") if name), key=Tag.key_of)


# --- The search box: tag:word, tag:"two words", #word ------------------------------------------------------------

TAG_TOKEN = re.compile(r'(?:(?<=\s)|^)(?:tag:"([^"]*)"|tag:(\S+)|#(\S+))', re.IGNORECASE)


def split_search(text: str) -> tuple[str, list[str]]:
    """The search box's text without its tag tokens, and the tags those name (as typed; checked by the caller)."""
    found = [quoted or bare or hashed for quoted, bare, hashed in TAG_TOKEN.findall(text)]
    rest = " ".join(TAG_TOKEN.sub(" ", text).split())
    return rest, [name for name in found if name.strip()]
