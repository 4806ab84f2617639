from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from generation.models import GeneratedImage, GenerationTask, InputImage, Style


class GeneratedImageInline(admin.TabularInline):
    model = GeneratedImage
    extra = 0
    can_delete = False
    fields = [
        "save_index",
        "mirror_state",
        "mirror_attempts",
        "mirror_error",
        "file",
        "width",
        "height",
        "size_bytes",
    ]
    readonly_fields = fields


@admin.register(GenerationTask)
class GenerationTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "state", "kind", "model_name", "short_prompt", "created_at", "finished_at"]
    list_filter = ["state", "kind", "created_at"]
    search_fields = ["prompt", "owner__username", "upstream_task_id", "versionid"]
    date_hierarchy = "created_at"
    raw_id_fields = ["owner", "upstream_account"]
    inlines = [GeneratedImageInline]
    readonly_fields = [
        "idempotency_key", "params", "params_sent", "upstream_task_id", "select_seed", "wait_time",
        "created_at", "claimed_at", "submit_attempted_at", "submit_attempts", "retry_at", "retry_reason",
        "submitted_at", "finished_at", "last_polled_at", "poll_attempts",
    ]  # fmt: skip

    @admin.display(description=_("prompt"))
    def short_prompt(self, task: GenerationTask) -> str:
        return task.prompt[:60]


@admin.register(GeneratedImage)
class GeneratedImageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "task",
        "save_index",
        "mirror_state",
        "mirror_attempts",
        "width",
        "height",
        "size_bytes",
    ]
    list_filter = ["mirror_state"]
    raw_id_fields = ["task"]
    readonly_fields = ["upstream_large_url", "upstream_middle_url", "mirror_attempted_at", "created_at"]


@admin.register(InputImage)
class InputImageAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "file", "source_image", "width", "height", "created_at"]
    raw_id_fields = ["owner", "source_image"]


@admin.register(Style)
class StyleAdmin(admin.ModelAdmin):
    """Styles (issue #13): personal ones are their owner's; team ones are curated by admins (also on /styles/)."""

    list_display = ("name", "scope", "owner", "versionid", "updated_at")
    list_filter = ("scope",)
    search_fields = ("name", "prompt", "neg_prompt", "owner__username")
    raw_id_fields = ("owner", "sample_image")
