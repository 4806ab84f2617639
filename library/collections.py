"""Collections: named boards of images, private or shared with the team.

Reads start from the user, like library.selectors: a private collection is its owner's alone (another
member gets a 404), a shared one every signed-in member may open read-only, and inside any collection a
viewer sees only the images they may see anyway (selectors.images_visible_to) — an image whose owner
stopped sharing, or a task in the trash, never shows through a collection. Only the owner changes one.

Writes are keyword-only services named <thing>_<action> (STYLE.md §1)."""

import base64
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext

from generation.models import GeneratedImage
from library import selectors
from library.models import Collection, CollectionItem

PAGE_SIZE = 48
# What an item's tile shows (templates/library/collection_detail.html): not the tasks' parameters.
ITEM_FIELDS = (
    "added_at",
    "collection_id",
    "image__save_index",
    "image__thumbnail",
    "image__task__prompt",
    "image__task__owner__username",
)


class CollectionNameTaken(ValueError):
    """The owner already has a collection with this name (names are unique per owner)."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(gettext("You already have a collection named “%(name)s”.") % {"name": name})


# --- Reads --------------------------------------------------------------------------------------------------


def collections_visible_to(user) -> QuerySet[Collection]:
    """The user's own collections and every shared one; nothing for visitors."""
    if not user.is_authenticated:
        return Collection.objects.none()
    return Collection.objects.filter(Q(owner=user) | Q(is_shared=True)).select_related("owner")


def own_collections(user) -> QuerySet[Collection]:
    if not user.is_authenticated:
        return Collection.objects.none()
    return Collection.objects.filter(owner=user).order_by("-updated_at", "-id")


def collection_for_user(user, pk) -> Collection:
    """One collection the user may open (theirs, or a shared one), or Http404."""
    return get_object_or_404(collections_visible_to(user), pk=pk)


def collection_owned_by(user, pk) -> Collection:
    """One of the user's own collections (to change it), or Http404."""
    return get_object_or_404(own_collections(user), pk=pk)


def visible_items(user, collection: Collection) -> QuerySet[CollectionItem]:
    """The items of ``collection`` whose image ``user`` may see, most recently added first. The rule is checked on
    each item's own task (joined), so the cost follows the collection's size, not the viewer's history."""
    return collection.items.filter(selectors.visible_to(user, "image__task__")).order_by("-added_at", "-id")


def with_summary(user, collections: QuerySet[Collection]) -> list[Collection]:
    """Collections with ``n_images`` (the images this user may see in it) and ``cover_image_id`` (the chosen
    cover if the user may see it, else the most recently added visible image that has a thumbnail).
    One query whatever the number of collections; each summary reads only that collection's items."""
    items = CollectionItem.objects.filter(selectors.visible_to(user, "image__task__"), collection=OuterRef("pk"))
    count = items.order_by().values("collection").annotate(n=Count("pk")).values("n")
    latest = items.filter(image__thumbnail__gt="").order_by("-added_at", "-id").values("image_id")[:1]
    cover = GeneratedImage.objects.filter(selectors.visible_to(user, "task__"), pk=OuterRef("cover_id"))
    rows = collections.annotate(
        n_images=Coalesce(Subquery(count, output_field=IntegerField()), 0),
        latest_image_id=Subquery(latest),
        cover_visible=Exists(cover.filter(thumbnail__gt="")),
    )
    rows = list(rows)
    for row in rows:
        row.cover_image_id = row.cover_id if row.cover_visible else row.latest_image_id
    return rows


def _encode_cursor(item: CollectionItem) -> str:
    raw = f"{item.added_at.isoformat()}|{item.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def items_page(user, collection: Collection, *, cursor: str = "", size: int | None = None):
    """One keyset page of the visible items (added_at, id descending; never OFFSET): (items, next cursor or "").
    One query whatever the size."""
    size = size or PAGE_SIZE
    items = visible_items(user, collection)
    after = selectors.decode_cursor(cursor) if cursor else None
    if after is not None:
        moment, pk = after
        items = items.filter(Q(added_at__lt=moment) | Q(added_at=moment, id__lt=pk))
    rows = list(items.select_related("image__task__owner").only(*ITEM_FIELDS)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (_encode_cursor(rows[-1]) if more and rows else "")


def images_to_add(user, *, image_ids: Iterable[int] = (), task_ids: Iterable[int] = ()) -> QuerySet[GeneratedImage]:
    """The images named by id, plus every image of the tasks named by id — only those ``user`` may see."""
    image_ids, task_ids = list(image_ids), list(task_ids)
    if not image_ids and not task_ids:
        return GeneratedImage.objects.none()
    return selectors.images_visible_to(user).filter(Q(pk__in=image_ids) | Q(task_id__in=task_ids))


# --- Writes -------------------------------------------------------------------------------------------------


def _touch(collection: Collection) -> None:
    collection.updated_at = timezone.now()
    Collection.objects.filter(pk=collection.pk).update(updated_at=collection.updated_at)


def collection_create(*, user, name: str, description: str = "", is_shared: bool = False) -> Collection:
    name = name.strip()
    if Collection.objects.filter(owner=user, name=name).exists():
        raise CollectionNameTaken(name)
    try:
        with transaction.atomic():
            return Collection.objects.create(
                owner=user, name=name, description=description.strip(), is_shared=is_shared
            )
    except IntegrityError as exc:  # created by a second request at the same moment
        raise CollectionNameTaken(name) from exc


def collection_update(
    *,
    collection: Collection,
    name: str | None = None,
    description: str | None = None,
    is_shared: bool | None = None,
) -> Collection:
    """Rename, describe or share/unshare; fields left as None are unchanged."""
    if name is not None:
        name = name.strip()
        taken = Collection.objects.filter(owner_id=collection.owner_id, name=name).exclude(pk=collection.pk)
        if taken.exists():
            raise CollectionNameTaken(name)
        collection.name = name
    if description is not None:
        collection.description = description.strip()
    if is_shared is not None:
        collection.is_shared = is_shared
    collection.updated_at = timezone.now()
    try:
        with transaction.atomic():
            collection.save(update_fields=["name", "description", "is_shared", "updated_at"])
    except IntegrityError as exc:
        raise CollectionNameTaken(collection.name) from exc
    return collection


def collection_delete(*, collection: Collection) -> None:
    """Delete the board and its items; the images themselves stay in their owners' histories."""
    collection.delete()


def collection_add_images(*, user, collection: Collection, images: Iterable[GeneratedImage]) -> int:
    """Add the images ``user`` may see to their ``collection``; images already there are ignored.
    Returns how many were added."""
    if collection.owner_id != user.pk:
        raise PermissionError("Only the owner adds images to a collection.")
    wanted = {image.pk for image in images}
    allowed = set(selectors.images_visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))
    present = set(collection.items.filter(image_id__in=allowed).values_list("image_id", flat=True))
    new = sorted(allowed - present)
    if not new:
        return 0
    now = timezone.now()
    CollectionItem.objects.bulk_create(
        [CollectionItem(collection=collection, image_id=pk, added_at=now) for pk in new], ignore_conflicts=True
    )
    _touch(collection)
    return len(new)


def collection_remove_images(*, collection: Collection, images: Iterable[GeneratedImage]) -> int:
    """Take images out of the collection (the cover too, if it was one of them). Returns how many left."""
    ids = {image.pk for image in images}
    removed, _ = collection.items.filter(image_id__in=ids).delete()
    if collection.cover_id in ids:
        collection.cover = None
        Collection.objects.filter(pk=collection.pk).update(cover=None)
    if removed:
        _touch(collection)
    return removed


def collection_set_cover(*, collection: Collection, image: GeneratedImage | None) -> Collection:
    """Make one of the collection's images its cover (None: back to the most recently added image)."""
    if image is not None and not collection.items.filter(image=image).exists():
        raise ValueError("The cover must be an image of the collection.")
    collection.cover = image
    collection.updated_at = timezone.now()
    collection.save(update_fields=["cover", "updated_at"])
    return collection


def collection_get_or_create(*, user, name: str) -> Collection:
    """The user's collection of that name, made now if there is none ("add to a new collection")."""
    existing = Collection.objects.filter(owner=user, name=name.strip()).first()
    if existing is not None:
        return existing
    try:
        return collection_create(user=user, name=name)
    except CollectionNameTaken:
        return Collection.objects.get(owner=user, name=name.strip())
