from django.urls import path

from team import views_quotas

urlpatterns = [
    path("", views_quotas.index, name="team_quotas"),
    path("defaults/", views_quotas.team_defaults, name="team_quota_defaults"),
    path("members/<id:pk>/", views_quotas.member_quotas, name="team_quota_member"),
    path("alerts/seen/", views_quotas.alerts_seen, name="team_quota_alerts_seen"),
    path("left/", views_quotas.quota_left, name="team_quota_left"),
]
