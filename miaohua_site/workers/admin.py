from django.contrib import admin

from miaohua_site.workers.models import Lease, RateWindow


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = ["name", "holder", "expires_at", "acquired_at"]


@admin.register(RateWindow)
class RateWindowAdmin(admin.ModelAdmin):
    list_display = ["name", "blocked_until", "backoff_seconds", "version"]
