from django.urls import path

from miaohua_site.accounts import views

urlpatterns = [
    path("", views.upstream_settings, name="upstream_settings"),
    path("disconnect/", views.upstream_disconnect, name="upstream_disconnect"),
]
