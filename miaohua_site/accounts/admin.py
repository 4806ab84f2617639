from django.contrib import admin

from miaohua_site.accounts.models import UpstreamAccount


@admin.register(UpstreamAccount)
class UpstreamAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "connected_at", "token_refreshed_at"]
    search_fields = ["user__username", "email"]
    # The encrypted columns are not editable and never shown.
    fields = ["user", "email", "connected_at", "token_refreshed_at", "sensitive_limit_value"]
    readonly_fields = ["connected_at", "token_refreshed_at"]
