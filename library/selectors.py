"""Reads of the library: who sees what. Every object a request touches is fetched starting from the user, so another
member's unshared object is a 404 by construction (docs/ARCHITECTURE.md, "Who may call whom").

Who sees what: a member sees their own tasks and the tasks of teammates who share them (MemberSettings,
on by default); an admin (staff) sees everything. Only the owner changes a task (favourite, delete, retry)."""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext

from generation.models import GeneratedImage, GenerationTask, InputImage, TaskInput
from library import tags as library_tags
from library.models import MemberSettings, Tag, TaskTag
from miaohua_site.paging import decode_cursor, keyset_cursor
from miaohua_site.params import date_range, day_start, parse_id

TRASH_DAYS = 30
PROMPT_SHOWN = 120  # characters of the prompt a trash row shows


def _shared_by_owner(prefix: str = "") -> Q:
    """Tasks whose owner shares with the team (no settings row = the default, sharing on)."""
    return ~Q(**{f"{prefix}owner__studio_settings__share_with_team": False})


def visible_to(user, path: str = "") -> Q:
    """Who sees what, as a condition on the task at the end of ``path`` ("" for tasks, "task__" for images,
    "image__task__" for collection items): not deleted, and for members their own or a sharing teammate's.
    Filtering on the joined task keeps a query as small as the rows it starts from (a collection's items)."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    condition = Q(**{f"{path}deleted_at__isnull": True})
    if not user.is_staff:
        condition &= Q(**{f"{path}owner": user}) | _shared_by_owner(path)
    return condition


def tasks_visible_to(user) -> QuerySet[GenerationTask]:
    """The tasks ``user`` may see: their own, teammates' shared ones, everything for admins; not deleted."""
    if not user.is_authenticated:
        return GenerationTask.objects.none()
    return GenerationTask.objects.filter(visible_to(user)).order_by("-created_at", "-id")


def own_tasks(user) -> QuerySet[GenerationTask]:
    """The user's own tasks, not deleted, newest first (My history)."""
    if not user.is_authenticated:
        return GenerationTask.objects.none()
    return GenerationTask.objects.filter(owner=user, deleted_at__isnull=True).order_by("-created_at", "-id")


def task_for_user(user, pk) -> GenerationTask:
    """One visible task, or Http404."""
    return get_object_or_404(tasks_visible_to(user).select_related("upstream_account", "owner"), pk=pk)


def task_card_for_user(user, pk) -> GenerationTask:
    """One visible task with its images (one query for the task, one for the images), or Http404: the card."""
    return get_object_or_404(tasks_visible_to(user).prefetch_related("images"), pk=pk)


def task_owned_by(user, pk) -> GenerationTask:
    """One of the user's own tasks (to change it), or Http404."""
    return get_object_or_404(own_tasks(user), pk=pk)


def trashed_tasks(user) -> QuerySet[GenerationTask]:
    """The user's deleted tasks that can still be restored, most recently deleted first."""
    if not user.is_authenticated:
        return GenerationTask.objects.none()
    since = timezone.now() - timedelta(days=TRASH_DAYS)
    return GenerationTask.objects.filter(owner=user, deleted_at__gte=since).order_by("-deleted_at", "-id")


def trash_page(user, *, cursor: str = "", size: int = 48) -> tuple[list[GenerationTask], str]:
    """One keyset page of the trash (deleted_at, id descending; never OFFSET): (tasks, cursor of the next page
    or ""), each task with its ``first_image``. Two queries whatever the size of the trash: the tasks (on the
    partial index of the deleted ones, migration 0005) and their images."""
    tasks = trashed_tasks(user)
    after = decode_cursor(cursor) if cursor else None
    if after is not None:
        moment, pk = after
        # One delete stamps all its tasks with the same deleted_at: the id breaks the tie. The plain
        # deleted_at <= moment lets the index start at the cursor instead of filtering from the newest.
        tasks = tasks.filter(Q(deleted_at__lt=moment) | Q(deleted_at=moment, id__lt=pk), deleted_at__lte=moment)
    # Only the first image of each task (a sliced prefetch: one windowed query), only what its thumbnail needs.
    first = GeneratedImage.objects.only("id", "task_id", "thumbnail").order_by("save_index", "id")[:1]
    fields = ("prompt", "model_name", "created_at", "deleted_at")  # what a row shows
    tasks = tasks.only(*fields).prefetch_related(Prefetch("images", queryset=first, to_attr="first_images"))
    rows = list(tasks[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    for row in rows:  # worked out once here rather than by template filters (truncatechars is slow on long text)
        row.first_image = row.first_images[0] if row.first_images else None
        row.prompt_start = row.prompt if len(row.prompt) <= PROMPT_SHOWN else row.prompt[: PROMPT_SHOWN - 1] + "…"
    return rows, (keyset_cursor(rows[-1].deleted_at, rows[-1].pk) if more and rows else "")


def images_visible_to(user) -> QuerySet[GeneratedImage]:
    """Images of the visible tasks, newest task first."""
    if not user.is_authenticated:
        return GeneratedImage.objects.none()
    images = GeneratedImage.objects.filter(visible_to(user, "task__"))
    return images.order_by("-task__created_at", "-task_id", "save_index")


def image_for_user(user, pk) -> GeneratedImage:
    """One visible image, or Http404."""
    return get_object_or_404(images_visible_to(user).select_related("task", "task__owner"), pk=pk)


def image_file_for_user(user, pk, variant: str) -> GeneratedImage:
    """An image whose file ``user`` may fetch, or Http404: a visible one, and also — the thumbnail only — an
    image of one of their own tasks still in the trash, which the trash page shows."""
    condition = visible_to(user, "task__")
    if variant == "thumb" and user.is_authenticated:
        since = timezone.now() - timedelta(days=TRASH_DAYS)
        condition |= Q(task__owner=user, task__deleted_at__gte=since)
    return get_object_or_404(GeneratedImage.objects.filter(condition), pk=pk)


def input_images_of(user) -> QuerySet[InputImage]:
    """The user's own input images (what the Generate form may reuse)."""
    if not user.is_authenticated:
        return InputImage.objects.none()
    return InputImage.objects.filter(owner=user).select_related("source_image")


def input_images_visible_to(user) -> QuerySet[InputImage]:
    """Input images ``user`` may open: their own, and those a task they may see used (TaskInput) — a teammate
    looking at a shared image-to-image task sees its init image."""
    if not user.is_authenticated:
        return InputImage.objects.none()
    used_by_visible = TaskInput.objects.filter(visible_to(user, "task__")).values("image_id")
    return InputImage.objects.filter(Q(owner=user) | Q(pk__in=used_by_visible))


def input_image_for_user(user, pk) -> InputImage:
    """One input image the user may open (see input_images_visible_to), or Http404."""
    return get_object_or_404(input_images_visible_to(user).select_related("source_image"), pk=pk)


def shares_with_team(user) -> bool:
    settings_row = MemberSettings.objects.filter(user=user).first()
    return True if settings_row is None else settings_row.share_with_team


def team_members(user):
    """The members whose generations ``user`` can see in the team gallery (for the member filter)."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    if not user.is_staff:
        users = users.filter(Q(pk=user.pk) | ~Q(studio_settings__share_with_team=False))
    return users


# --- History: filters, full-text search and keyset paging ---------------------------------------------------


@dataclass
class HistoryFilters:
    """The filters of a history or gallery page, as they live in the URL (shareable; the back button works)."""

    q: str = ""
    model: str = ""
    lora: str = ""
    cn: str = ""
    kind: str = ""
    state: str = ""
    date_from: date | None = None
    date_to: date | None = None
    favourites: bool = False
    member: int | None = None
    style: int | None = None  # tasks made with this style (issue #13)
    tags: list[str] = field(default_factory=list)  # tasks having every one (the URL's tag=… and the box's tag:/#)
    text: str = ""  # the search box without its tag:/# words: what the full-text search looks for
    url_tags: list[str] = field(default_factory=list)  # the tags of the URL's tag=… only
    errors: dict = field(default_factory=dict)

    KEYS = ("q", "model", "lora", "cn", "kind", "state", "from", "to", "fav", "member", "tag", "style")
    MAX_TAGS = 5

    @classmethod
    def from_query(cls, params) -> "HistoryFilters":
        f = cls(
            q=params.get("q", "").strip()[:200],
            model=params.get("model", "").strip(),
            lora=params.get("lora", "").strip(),
            cn=params.get("cn", "").strip(),
            kind=params.get("kind", "") if params.get("kind") in GenerationTask.Kind.values else "",
            state=params.get("state", "") if params.get("state") in GenerationTask.State.values else "",
            favourites=params.get("fav") == "1",
        )
        f.date_from, f.date_to = date_range(params, f.errors)
        member = params.get("member", "")
        f.member = parse_id(member)
        if member and f.member is None:
            f.errors["member"] = gettext("Choose a member from the list.")
        style = params.get("style", "")
        f.style = parse_id(style)
        if style and f.style is None:
            f.errors["style"] = gettext("Choose a style from the list.")
        f.text, typed = library_tags.split_search(f.q)
        url_tags = params.getlist("tag") if hasattr(params, "getlist") else [params.get("tag", "")]
        f._read_tags(url_tags)
        f.url_tags = list(f.tags)
        f._read_tags(typed)
        return f

    def _read_tags(self, raw: list[str]) -> None:
        keys = {Tag.key_of(name) for name in self.tags}
        for value in raw:
            if not value.strip():
                continue
            try:
                name = library_tags.normalise(value)
            except library_tags.TagRefused as exc:
                self.errors["tag"] = str(exc)
                continue
            if Tag.key_of(name) not in keys:
                keys.add(Tag.key_of(name))
                self.tags.append(name)
        if len(self.tags) > self.MAX_TAGS and "tag" not in self.errors:
            self.errors["tag"] = gettext("Filter by at most %(max)s tags at once.") % {"max": self.MAX_TAGS}

    def query(self, **changes) -> str:
        """These filters as a query string (no cursor), the URL's tags included; ``changes`` replace some."""
        values = {
            "q": self.q,
            "model": self.model,
            "lora": self.lora,
            "cn": self.cn,
            "kind": self.kind,
            "state": self.state,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "fav": "1" if self.favourites else "",
            "member": str(self.member) if self.member else "",
            "style": str(self.style) if self.style else "",
        }
        values.update({key: value for key, value in changes.items() if key != "tag"})
        pairs = [(key, value) for key, value in values.items() if value]
        pairs += [("tag", name) for name in changes.get("tag", self.url_tags)]
        return urlencode(pairs)

    def without_tag(self, name: str) -> str:
        """The query string of these filters less one tag (a chip's ×), from the URL's tags or the search box."""
        key = Tag.key_of(name)
        rest, typed = library_tags.split_search(self.q)
        kept_typed = [t for t in typed if Tag.key_of(t) != key]
        q = " ".join([rest, *(f'tag:"{t}"' if " " in t else f"tag:{t}" for t in kept_typed)]).strip()
        return self.query(q=q, tag=[t for t in self.url_tags if Tag.key_of(t) != key])

    @property
    def tag_keys(self) -> set[str]:
        return {Tag.key_of(name) for name in self.tags}

    @property
    def tag_chips(self) -> list[tuple[str, str]]:
        """(tag, the query string without it) for each tag filtered by: the chips with a ×."""
        return [(name, self.without_tag(name)) for name in self.tags]

    @property
    def active(self) -> bool:
        return any(
            [
                self.q,
                self.model,
                self.lora,
                self.cn,
                self.kind,
                self.state,
                self.date_from,
                self.date_to,
                self.favourites,
                self.member,
                self.style,
                self.tags,
            ]
        )

    def apply(self, tasks: QuerySet[GenerationTask]) -> QuerySet[GenerationTask]:
        """Every filter, the search included (exports: all the matching tasks)."""
        return search(self.narrow(tasks), self.text) if self.text else self.narrow(tasks)

    def narrow(self, tasks: QuerySet[GenerationTask]) -> QuerySet[GenerationTask]:
        """Every filter but the search, which page_of(q=...) adds in the way that pages best."""
        if self.model:
            tasks = tasks.filter(versionid=self.model)
        if self.lora:
            tasks = tasks.filter(lora_versionid=self.lora)
        if self.cn:
            tasks = tasks.filter(
                Q(cn_types=self.cn)
                | Q(cn_types__startswith=f"{self.cn},")
                | Q(cn_types__endswith=f",{self.cn}")
                | Q(cn_types__contains=f",{self.cn},")
            )
        if self.kind:
            tasks = tasks.filter(kind=self.kind)
        if self.state:
            tasks = tasks.filter(state=self.state)
        if self.date_from:
            tasks = tasks.filter(created_at__gte=day_start(self.date_from))
        if self.date_to:
            tasks = tasks.filter(created_at__lt=day_start(self.date_to + timedelta(days=1)))
        if self.favourites:
            tasks = tasks.filter(is_favourite=True)
        if self.member:
            tasks = tasks.filter(owner_id=self.member)
        if self.style:  # "id IN (the style's tasks)", like the tags: no join that could repeat a task
            made_with = GenerationTask.styles.through.objects.filter(style_id=self.style)
            tasks = tasks.filter(pk__in=made_with.values("generationtask_id"))
        for name in self.tags:  # every one of them: "id IN (the tag's tasks)" on the (tag, task) index, like FTS
            tasks = tasks.filter(pk__in=TaskTag.objects.filter(tag__key=Tag.key_of(name)).values("task_id"))
        return tasks


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())[:12]


def search(tasks: QuerySet[GenerationTask], text: str) -> QuerySet[GenerationTask]:
    """Full-text search over prompt and negative prompt: every word must appear (as a word prefix).
    SQLite FTS5 by default, PostgreSQL full-text when on PostgreSQL (migration 0003)."""
    words = _words(text)
    if not words:
        return tasks
    table = GenerationTask._meta.db_table
    if connection.vendor == "sqlite":
        match = " ".join(f'"{word}"*' for word in words)
        return tasks.extra(
            where=[f"{table}.id IN (SELECT rowid FROM generation_task_fts WHERE generation_task_fts MATCH %s)"],
            params=[match],
        )
    if connection.vendor == "postgresql":
        return tasks.extra(where=[f"{table}.search_vector @@ to_tsquery('simple', %s)"], params=[_tsquery(words)])
    condition = Q()
    for word in words:
        condition &= Q(prompt__icontains=word) | Q(neg_prompt__icontains=word)
    return tasks.filter(condition)


def _tsquery(words: list[str]) -> str:
    return " & ".join(f"{word}:*" for word in words)


SEARCH_WINDOW = 3000


def search_newest(tasks: QuerySet[GenerationTask], text: str, limit: int) -> QuerySet[GenerationTask]:
    """The ``limit`` newest tasks of ``tasks`` matching ``text`` (by created_at, id), for one page.

    On PostgreSQL in one query whose work is bounded whatever the match rate: walk the newest rows in keyset
    order checking each one's stored tsvector (cheap) until ``limit`` match, reading at most SEARCH_WINDOW rows;
    only when those hold fewer matches, take every match from the GIN index and sort them (then they are few).
    Left to itself the planner either sorts every match (65,000 of 1,000,000 tasks for two common words) or,
    guessing 2 % for any word prefix, walks the whole history for a word found nowhere.
    Elsewhere this is search(): SQLite's FTS5 is quick either way."""
    words = _words(text)
    if not words or connection.vendor != "postgresql":
        return search(tasks, text)
    table = GenerationTask._meta.db_table
    newest = tasks.extra(select={"vector": f"{table}.search_vector"}).order_by("-created_at", "-id")
    walk_sql, walk_params = newest.values_list("id", "created_at", "vector")[:SEARCH_WINDOW].query.sql_with_params()
    matched_sql, matched_params = search(tasks, text).order_by().values_list("id", "created_at").query.sql_with_params()
    n = int(limit)
    # MATERIALIZED keeps each part planned as written; "older" runs only when the walk found fewer than n.
    sql = f"""
        WITH hits AS MATERIALIZED (
            SELECT id, created_at FROM ({walk_sql}) walk WHERE vector @@ to_tsquery('simple', %s)
            ORDER BY created_at DESC, id DESC LIMIT {n}
        ),
        older AS MATERIALIZED (
            SELECT id, created_at FROM ({matched_sql}) matched WHERE (SELECT count(*) FROM hits) < {n}
        )
        SELECT id FROM hits
        UNION ALL
        (SELECT id FROM older ORDER BY created_at DESC, id DESC LIMIT {n})
    """
    params = (*walk_params, _tsquery(words), *matched_params)
    return GenerationTask.objects.filter(pk__in=RawSQL(sql, params))  # the ids already passed every filter


def encode_cursor(task: GenerationTask) -> str:
    return keyset_cursor(task.created_at, task.pk)


def _with_gallery_data(tasks: QuerySet[GenerationTask]) -> QuerySet[GenerationTask]:
    images = GeneratedImage.objects.only(
        "id", "task_id", "save_index", "thumbnail", "width", "height", "seed", "file"
    ).order_by("save_index")
    tasks = library_tags.with_tag_names(tasks)  # inside the page's own query: no query more
    return tasks.select_related("owner").prefetch_related(Prefetch("images", queryset=images))


def page_of(tasks: QuerySet[GenerationTask], *, cursor: str = "", size: int = 30, q: str = ""):
    """One keyset page (created_at, id descending; never OFFSET) of ``tasks`` matching the search ``q``:
    (tasks, cursor of the next page or ""). Two queries whatever the size: the tasks, and their images."""
    after = decode_cursor(cursor) if cursor else None
    if after is not None:
        moment, pk = after
        tasks = tasks.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=pk))
    if q:
        tasks = search_newest(tasks, q, size + 1)
    rows = list(_with_gallery_data(tasks.order_by("-created_at", "-id"))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    for row in rows:  # what a tile shows, worked out once here rather than by template filters
        images = list(row.images.all())
        row.first_image = images[0] if images else None
        row.image_count = len(images)
        row.tag_list = library_tags.split_names(row.tag_names)
    return rows, (encode_cursor(rows[-1]) if more and rows else "")


def neighbours(user, image: GeneratedImage, tasks: QuerySet[GenerationTask] | None = None):
    """The images before and after ``image`` in history order (newest task first, then by index)."""
    tasks = tasks if tasks is not None else tasks_visible_to(user)
    images = images_visible_to(user).filter(task__in=tasks.values("pk")).exclude(file="")
    task = image.task
    newer = Q(task__created_at__gt=task.created_at) | Q(task__created_at=task.created_at, task_id__gt=task.pk)
    older = Q(task__created_at__lt=task.created_at) | Q(task__created_at=task.created_at, task_id__lt=task.pk)
    same = Q(task_id=task.pk)
    previous = (
        images.filter(newer | (same & Q(save_index__lt=image.save_index)))
        .order_by("task__created_at", "task_id", "-save_index")
        .values_list("pk", flat=True)
        .first()
    )
    following = (
        images.filter(older | (same & Q(save_index__gt=image.save_index)))
        .order_by("-task__created_at", "-task_id", "save_index")
        .values_list("pk", flat=True)
        .first()
    )
    return previous, following


# --- Lineage: what a task was made from, and what was made from an image ------------------------------------

MADE_FROM_SHOWN = 12  # derived tasks listed under an image; the rest are counted


@dataclass
class LineageInput:
    """One input of a task as a viewer sees it: its role, and where it came from. ``source_image`` is the history
    image it was picked from when the viewer may open it; ``source_hidden`` when they may not."""

    input: InputImage
    role: TaskInput.Role
    position: int
    cn: str = ""
    uploaded_by: object = None
    source_image: GeneratedImage | None = None
    source_hidden: bool = False

    @property
    def has_picture(self) -> bool:
        """Something to show as its thumbnail: the upload, or the picked image's file (gone once purged)."""
        image = self.input
        return bool(image.file) or bool(image.source_image_id and image.source_image.file)

    @property
    def label(self) -> str:
        if self.role == TaskInput.Role.INIT:
            return gettext("Init image")
        number = self.position + 1
        if self.cn:
            return gettext("ControlNet %(number)s · %(cn)s") % {"number": number, "cn": self.cn}
        return gettext("ControlNet %(number)s") % {"number": number}


def task_inputs(user, task: GenerationTask) -> list[LineageInput]:
    """The inputs of a task ``user`` may see (the caller fetched it through a selector): the init image first, then
    the ControlNet units in order. One query, and one more to check the picked images' visibility if any."""
    rows = list(
        TaskInput.objects.filter(task=task)
        .select_related("image__owner", "image__source_image")
        .order_by("position", "id")
    )
    rows.sort(key=lambda row: (row.role != TaskInput.Role.INIT, row.position))
    sources = {row.image.source_image_id for row in rows if row.image.source_image_id}
    visible = set(images_visible_to(user).filter(pk__in=sources).values_list("pk", flat=True)) if sources else set()
    units = (task.params or {}).get("cn_configs") or []
    entries = []
    for row in rows:
        image = row.image
        unit = units[row.position] if row.role == TaskInput.Role.CONTROLNET and row.position < len(units) else {}
        entry = LineageInput(
            input=image,
            role=row.role,
            position=row.position,
            cn=str(unit.get("cn") or "") if isinstance(unit, dict) else "",
        )
        if image.file:
            entry.uploaded_by = image.owner
        elif image.source_image_id in visible:
            entry.source_image = image.source_image
        elif image.source_image_id:
            entry.source_hidden = True
        entries.append(entry)
    return entries


def made_from(user, image: GeneratedImage, *, limit: int = MADE_FROM_SHOWN) -> tuple[list[GenerationTask], int]:
    """The tasks ``user`` may see that used ``image`` as init or ControlNet image (TaskInput → InputImage picked
    from it), newest first: (at most ``limit`` tasks, each with its ``first_image``; how many there are in all).
    Two queries (the tasks, their first images), a third to count only when there are more than ``limit``."""
    used = TaskInput.objects.filter(image__source_image=image).values("task_id")
    tasks = tasks_visible_to(user).filter(pk__in=used)
    first = GeneratedImage.objects.only("id", "task_id", "thumbnail", "file").order_by("save_index", "id")[:1]
    rows = list(
        tasks.only("id", "prompt", "created_at", "owner_id").prefetch_related(
            Prefetch("images", queryset=first, to_attr="first_images")
        )[: limit + 1]
    )
    total = tasks.count() if len(rows) > limit else len(rows)
    rows = rows[:limit]
    for row in rows:
        row.first_image = row.first_images[0] if row.first_images else None
    return rows, total


def datasets_with(user, image: GeneratedImage):
    """The datasets ``user`` may look at (training.selectors: every signed-in person) that hold a copy of
    ``image`` (DatasetImage.source_image; refused images are not in the dataset), by name. One query."""
    from training.models import DatasetImage
    from training.selectors import datasets_visible_to

    holding = DatasetImage.objects.filter(source_image=image).exclude(state=DatasetImage.State.REFUSED)
    return list(
        datasets_visible_to(user).filter(pk__in=holding.values("dataset_id")).order_by("name", "id").only("id", "name")
    )
