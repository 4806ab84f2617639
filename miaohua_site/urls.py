from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, register_converter

from miaohua_site.params import IdConverter

register_converter(IdConverter, "id")  # <id:pk>: an int within the database's range, before the apps' urls

handler400 = "miaohua_site.views.bad_request"  # the reason, in plain words (miaohua_site.params)

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

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
