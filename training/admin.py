from django.contrib import admin

from training.models import Dataset, DatasetImage, DatasetImport, TrainingEvent, TrainingJob


class DatasetImageInline(admin.TabularInline):
    model = DatasetImage
    extra = 0
    fields = ["original_name", "state", "source", "size_bytes", "error", "added_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "account_email", "vendor_dataset_id", "updated_at"]
    search_fields = ["name", "account_email"]
    readonly_fields = ["vendor_dataset_id", "vendor_create_attempted_at", "imported_at", "created_at", "updated_at"]
    inlines = [DatasetImageInline]


@admin.register(DatasetImage)
class DatasetImageAdmin(admin.ModelAdmin):
    list_display = ["original_name", "dataset", "state", "source", "size_bytes", "created_at"]
    list_filter = ["state", "source"]
    search_fields = ["original_name", "dataset__name"]
    readonly_fields = ["uuid", "vendor_url", "vendor_path", "claim", "claimed_at", "attempts", "added_at"]


@admin.register(DatasetImport)
class DatasetImportAdmin(admin.ModelAdmin):
    list_display = ["pk", "account_email", "state", "datasets_found", "images_added", "created_at", "finished_at"]
    list_filter = ["state"]


class TrainingEventInline(admin.TabularInline):
    model = TrainingEvent
    extra = 0
    fields = ["at", "state", "vendor_state", "progress", "message"]
    readonly_fields = fields


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "state", "progress", "lora_versionid", "created_at", "finished_at"]
    list_filter = ["state"]
    search_fields = ["name", "trigger_word", "upstream_task_id", "lora_versionid"]
    readonly_fields = [
        "idempotency_key", "upstream_task_id", "vendor_state", "progress", "lora_versionid", "lora_model_name",
        "claimed_at", "submit_attempted_at", "submitted_at", "progress_started_at", "progress_first",
        "vendor_done_at", "finished_at", "last_polled_at", "poll_attempts",
    ]  # fmt: skip
    exclude = ["notice_dismissed_by"]
    inlines = [TrainingEventInline]
