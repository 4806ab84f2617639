from django.conf import settings
from django.contrib import admin
from django.urls import include, path, register_converter
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog

from miaohua_site.accounts import views as account_views
from miaohua_site.params import IdConverter

register_converter(IdConverter, "id")  # <id:pk>: an int within the database's range, before the apps' urls

handler400 = "miaohua_site.views.bad_request"  # the reason, in plain words (miaohua_site.params)

# Sign-in, sign-out, password change and reset: Django's views on the product's pages (templates/registration/),
# with Bootstrap-styled forms, and a reset that says so when its email could not be sent.
auth_urlpatterns = [
    path("password_change/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_reset/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path("reset/<uidb64>/<token>/", account_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("", include("django.contrib.auth.urls")),  # login, logout, the "done" pages
]

urlpatterns = [
    path("accounts/", include(auth_urlpatterns)),
    path("settings/", include("miaohua_site.accounts.urls")),
    path("admin/", admin.site.urls),
    # The strings of our JavaScript in the page's language (static/*.js call gettext / interpolate / ngettext).
    # Kept by the browser for a day: the page asks for ?v=<language>-<catalogs' version> (context_processors.studio).
    path("jsi18n/", cache_control(max_age=86400, private=True)(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("team/", include("team.urls")),
    path("training/", include("training.urls")),
    path("", include("generation.urls")),
    path("", include("library.urls")),
]

if settings.MIAOHUA_SIMULATOR:
    # The vendor's API, offline: http://<this server>/simulator/api/v1b/<endpoint>
    urlpatterns.append(path("simulator/", include("miaohua_site.simulator.urls")))

# Stored images (MEDIA_ROOT) are never served at /media/, not even with DEBUG=1: every one goes through a view
# that checks who may see it (generation.views.image_file / input_file, training.views.dataset_image_file).
