"""The library's own rows: members' sharing, collections, tags and saved searches.

MemberSettings, Collection and CollectionItem were born in ``generation`` and moved here without touching their
tables (issue #12: ``SeparateDatabaseAndState``; their ``db_table`` keeps the old names)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MemberSettings(models.Model):
    """A member's own settings for the team: whether their generations appear in the team gallery."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="studio_settings")
    share_with_team = models.BooleanField(
        _("Share my generations with the team"),
        default=True,
        help_text=_("Teammates see your tasks in the team gallery. Admins always see everything."),
    )

    class Meta:
        db_table = "generation_membersettings"

    def __str__(self) -> str:
        return f"settings of {self.user}"


class Collection(models.Model):
    """A named board of images, private or shared with the team."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    is_shared = models.BooleanField(_("shared with the team"), default=False)
    cover = models.ForeignKey(
        "generation.GeneratedImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "generation_collection"  # moved from generation (issue #12): the table kept its name
        ordering = ["-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="collection_unique_name_per_owner")]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    image = models.ForeignKey("generation.GeneratedImage", on_delete=models.CASCADE, related_name="collection_items")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "generation_collectionitem"
        ordering = ["-added_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["collection", "image"], name="collection_item_once")]
        indexes = [models.Index(fields=["collection", "-added_at", "-id"], name="collection_item_recent")]

    def __str__(self) -> str:
        return f"{self.image} in {self.collection}"


class Tag(models.Model):
    """A free-form word or phrase put on tasks. One row per name, shared by the team; ``key`` is the name folded
    (case, runs of spaces) so "Portrait" and "portrait " are one tag, shown as first typed."""

    MAX_LENGTH = 50

    name = models.CharField(_("tag"), max_length=MAX_LENGTH)
    key = models.CharField(max_length=MAX_LENGTH, unique=True)
    tasks = models.ManyToManyField("generation.GenerationTask", through="TaskTag", related_name="tags")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def key_of(name: str) -> str:
        return " ".join(name.split()).casefold()


class TaskTag(models.Model):
    task = models.ForeignKey("generation.GenerationTask", on_delete=models.CASCADE, related_name="task_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="task_tags")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tag__key"]
        constraints = [models.UniqueConstraint(fields=["task", "tag"], name="task_tag_once")]
        indexes = [models.Index(fields=["tag", "task"], name="task_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.tag} on task #{self.task_id}"


class SavedSearch(models.Model):
    """A named set of filters and search ("smart folder") of My history or the team gallery, private or shared
    with the team. ``query`` is the page's query string without its cursor, as the filters read it."""

    class Scope(models.TextChoices):
        HISTORY = "history", _("My history")
        GALLERY = "gallery", _("Team gallery")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches")
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.HISTORY)
    query = models.CharField(max_length=2000, blank=True)
    is_shared = models.BooleanField(_("shared with the team"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_search_unique_name_per_owner")]

    def __str__(self) -> str:
        return self.name
