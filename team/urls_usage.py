from django.urls import path

from team import views_usage

urlpatterns = [
    path("", views_usage.index, name="usage"),
    path("export.csv", views_usage.export, name="usage_export"),
]
