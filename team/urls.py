from django.urls import include, path

urlpatterns = [
    path("members/", include("team.urls_members")),
    path("quotas/", include("team.urls_quotas")),
    path("usage/", include("team.urls_usage")),
    path("audit/", include("miaohua_site.audit.urls")),
]
