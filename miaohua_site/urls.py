from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/", include("miaohua_site.accounts.urls")),
    path("admin/", admin.site.urls),
    path("training/", include("training.urls")),
    path("", include("generation.urls")),
]

if settings.MIAOHUA_SIMULATOR:
    # The vendor's API, offline: http://<this server>/simulator/api/v1b/<endpoint>
    urlpatterns.append(path("simulator/", include("miaohua_site.simulator.urls")))

# Stored images (MEDIA_ROOT) are never served at /media/, not even with DEBUG=1: every one goes through a view
# that checks who may see it (generation.views.image_file / input_file, training.views.dataset_image_file).
