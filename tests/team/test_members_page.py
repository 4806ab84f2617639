"""The members page (/team/members/): admins see everyone and the waiting invitations; members and viewers get a
403, visitors the sign-in page; every action of the page is tried by each of them; reset-password links."""

import re
import socket

import pytest
from django.core import mail
from django.urls import reverse

from miaohua_site.audit.models import AuditEvent
from team.models import Invitation
from team.services import members

pytestmark = pytest.mark.django_db


def page_actions(admin, target):
    """Every URL of the members pages with a method, for the access checks."""
    invitation, _ = members.invitation_create(
        email="new@example.com", role="member", uses_team_account=False, invited_by=admin
    )
    return [
        ("get", reverse("team_members"), {}),
        ("post", reverse("team_member_invite"), {"email": "other@example.com", "role": "member"}),
        ("post", reverse("team_invitation_revoke", args=[invitation.pk]), {}),
        ("post", reverse("team_member_role", args=[target.pk]), {"role": "viewer"}),
        ("get", reverse("team_member_deactivate", args=[target.pk]), {}),
        ("post", reverse("team_member_deactivate", args=[target.pk]), {"receiver": str(admin.pk)}),
        ("post", reverse("team_member_reactivate", args=[target.pk]), {}),
        ("post", reverse("team_member_password_reset", args=[target.pk]), {}),
        ("post", reverse("team_member_unlock", args=[target.pk]), {}),
    ]


@pytest.mark.parametrize("who", ["owner", "viewer"])
def test_it_refuses_members_and_viewers_with_403_on_every_page_and_action(client, request, admin_user, teammate, who):
    person = request.getfixturevalue(who)
    client.force_login(person)
    for method, url, data in page_actions(admin_user, teammate):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url)
    teammate.refresh_from_db()
    assert teammate.is_active and not teammate.is_staff
    assert Invitation.objects.filter(revoked_at__isnull=False).count() == 0


def test_it_sends_visitors_to_sign_in_on_every_page_and_action(client, admin_user, teammate):
    for method, url, data in page_actions(admin_user, teammate):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), (method, url)
    teammate.refresh_from_db()
    assert teammate.is_active


def test_it_answers_404_for_a_member_or_invitation_that_does_not_exist(client, admin_user):
    client.force_login(admin_user)
    for url in (
        reverse("team_member_role", args=[999999]),
        reverse("team_member_deactivate", args=[999999]),
        reverse("team_member_reactivate", args=[999999]),
        reverse("team_member_password_reset", args=[999999]),
        reverse("team_invitation_revoke", args=[999999]),
        "/team/members/99999999999999999999999/role/",
    ):
        assert client.post(url, {"role": "member", "receiver": "1"}).status_code == 404, url


def test_it_lists_everyone_with_role_team_account_last_sign_in_and_state(client, admin_user, owner, viewer, teammate):
    from team.models import Membership

    Membership.objects.create(user=owner, uses_team_account=True)
    members.member_deactivate(member=teammate, receiver=owner, by=admin_user)
    client.force_login(admin_user)
    page = client.get(reverse("team_members")).content.decode()

    def row(user):
        return re.search(rf'<tr id="member-{user.pk}".*?</tr>', page, re.S).group(0)

    assert "owner@example.com" in row(owner) and ">yes<" in row(owner)
    assert 'value="viewer" selected' in row(viewer)
    assert 'value="admin" selected' in row(admin_user)
    assert "deactivated" in row(teammate) and "Reactivate" in row(teammate)
    assert "never" in row(owner)  # never signed in
    assert "Deactivate" not in row(admin_user)  # not oneself
    assert 'class="table-responsive"' in page


def test_it_lists_waiting_invitations_with_a_copy_link_and_revoke(client, admin_user):
    invitation, sent = members.invitation_create(
        email="waiting@example.com", role="viewer", uses_team_account=False, invited_by=admin_user
    )
    used, _ = members.invitation_create(
        email="used@example.com", role="member", uses_team_account=False, invited_by=admin_user
    )
    members.invitation_accept(token=sent_token(_.url), username="used", password="a-Long-pass-123")
    client.force_login(admin_user)
    page = client.get(reverse("team_members")).content.decode()
    table = re.search(r'<table[^>]*id="invitations".*?</table>', page, re.S).group(0)
    assert "waiting@example.com" in table and "Viewer" in table
    assert "used@example.com" not in table
    assert f'data-copy="http://testserver{sent.url}"' in table
    assert reverse("team_invitation_revoke", args=[invitation.pk]) in table


def sent_token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_an_admin_sends_a_reset_password_link_emailed_and_shown(client, admin_user, owner):
    client.force_login(admin_user)
    response = client.post(reverse("team_member_password_reset", args=[owner.pk]))
    assert response.status_code == 200
    shown = re.search(r'id="shown-link" value="([^"]+)"', response.content.decode()).group(1)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["owner@example.com"]
    assert shown in mail.outbox[0].body and "admin, an admin of your team" in mail.outbox[0].body
    event = AuditEvent.objects.get(action=AuditEvent.Action.PASSWORD_RESET_LINK_SENT)
    assert event.actor == admin_user and event.target_id == str(owner.pk)

    client.logout()
    form = client.get(shown.replace("http://testserver", ""), follow=True)
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "fresh-Pass-789", "new_password2": "fresh-Pass-789"}
    )
    assert done.status_code == 302
    signed_in = client.post(reverse("login"), {"username": "owner", "password": "fresh-Pass-789"})
    assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(owner.pk)


def test_a_reset_link_whose_email_cannot_be_sent_is_still_shown(client, admin_user, owner, settings):
    with socket.socket() as probe:  # a port nothing listens on: the mail server refuses the connection
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    client.force_login(admin_user)
    page = client.post(reverse("team_member_password_reset", args=[owner.pk])).content.decode()
    assert "The email could not be sent" in page
    assert re.search(r'id="shown-link" value="http://testserver/accounts/reset/[^"]+"', page)


def test_a_reset_link_for_a_deactivated_member_is_refused_beside_their_row(client, admin_user, owner, teammate):
    members.member_deactivate(member=owner, receiver=teammate, by=admin_user)
    client.force_login(admin_user)
    response = client.post(reverse("team_member_password_reset", args=[owner.pk]), follow=True)
    assert "owner is deactivated: reactivate them first." in response.content.decode()
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PASSWORD_RESET_LINK_SENT).exists()


def test_the_admin_menu_links_to_the_members_page(client, admin_user, owner):
    client.force_login(admin_user)
    assert reverse("team_members") in client.get(reverse("history")).content.decode()
    client.force_login(owner)
    assert reverse("team_members") not in client.get(reverse("history")).content.decode()
