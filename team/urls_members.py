from django.urls import path

from team import views_members

urlpatterns = [
    path("", views_members.index, name="team_members"),
]
