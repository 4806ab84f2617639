"""The simulator's state in the admin: handy to expire an account's tokens or to set its limits."""

from django.contrib import admin

from miaohua_site.simulator import models


@admin.register(models.SimAccount)
class SimAccountAdmin(admin.ModelAdmin):
    list_display = ["email", "credits", "max_running_tasks", "banned", "created_at"]
    exclude = ["password_hash"]
    actions = ["expire_tokens"]

    @admin.action(description="Expire all tokens now (forces a re-login)")
    def expire_tokens(self, request, queryset):
        expired = sum(account.expire_tokens_now() for account in queryset)
        self.message_user(request, f"{expired} token(s) expired.")


@admin.register(models.SimTask)
class SimTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "task_type", "versionid", "prompt", "n_images", "created_at", "ready_at"]
    list_filter = ["task_type"]


@admin.register(models.SimTrainingJob)
class SimTrainingJobAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "name", "base_model", "created_at", "ready_at", "fails"]


@admin.register(models.SimModel)
class SimModelAdmin(admin.ModelAdmin):
    list_display = ["model_name", "versionid", "kind", "owner", "is_opensource"]
    list_filter = ["kind"]


@admin.register(models.SimApiCall)
class SimApiCallAdmin(admin.ModelAdmin):
    list_display = ["endpoint", "at", "status", "code", "n_ids", "account_email"]
    list_filter = ["endpoint", "status"]


admin.site.register([models.SimUpload, models.SimDataset])


@admin.register(models.SimToken)
class SimTokenAdmin(admin.ModelAdmin):
    """Tokens are shown only by their start: in simulator mode they are the dashboard's own live tokens."""

    list_display = ["short_key", "account", "expires_at"]
    exclude = ["key"]
    readonly_fields = ["short_key"]

    @admin.display(description="token")
    def short_key(self, obj) -> str:
        return f"{obj.key[:6]}…"

