from django.contrib import admin

from miaohua_site.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read only: the log is read on /team/audit/; nobody adds, edits or deletes an event here."""

    list_display = ["at", "actor_name", "action", "target_repr", "ip_address"]
    list_filter = ["action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
