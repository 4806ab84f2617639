from django.urls import path

from team import views_quotas

urlpatterns = [
    path("", views_quotas.index, name="team_quotas"),
]
