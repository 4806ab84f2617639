"""Only the simulator, mounted where the project mounts it: its tests do not depend on the other apps."""

from django.urls import include, path

urlpatterns = [path("simulator/", include("miaohua_site.simulator.urls"))]
