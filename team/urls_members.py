from django.urls import path

from team import views_members as views

urlpatterns = [
    path("", views.index, name="team_members"),
    path("invite/", views.invite, name="team_member_invite"),
    path("invitations/<id:pk>/revoke/", views.invitation_revoke, name="team_invitation_revoke"),
    path("<id:pk>/role/", views.member_role, name="team_member_role"),
    path("<id:pk>/deactivate/", views.member_deactivate, name="team_member_deactivate"),
    path("<id:pk>/reactivate/", views.member_reactivate, name="team_member_reactivate"),
    path("<id:pk>/unlock/", views.member_unlock, name="team_member_unlock"),
    path("<id:pk>/password-reset/", views.member_password_reset, name="team_member_password_reset"),
    path("join/<str:token>/", views.join, name="team_join"),
]
