from django.urls import path

from miaohua_site.accounts import views

urlpatterns = [
    path("", views.upstream_settings, name="upstream_settings"),
    path("disconnect/", views.upstream_disconnect, name="upstream_disconnect"),
    path("team-account/", views.team_account_settings, name="team_account_settings"),
    path("team-account/remove/", views.team_account_remove, name="team_account_remove"),
    path("team-account/sharing/", views.team_account_sharing, name="team_account_sharing"),
    path("language/", views.set_language, name="set_language"),
]
