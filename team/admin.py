from django.contrib import admin

from team.models import Invitation, Membership, TeamSettings


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "uses_team_account", "images_per_day", "images_per_month", "deactivated_at"]
    list_filter = ["role", "uses_team_account"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    readonly_fields = ["token_hash"]


admin.site.register(TeamSettings)
