from django.urls import path

from team import views_usage

urlpatterns = [
    path("", views_usage.index, name="usage"),
]
