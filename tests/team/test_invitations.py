"""Invitations: an admin invites by email, the one-time link is emailed and shown once; the invitee chooses a user
name and password and is signed in. A used, revoked or expired link says so, and of two accepts at once one wins."""

import re
import socket
import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from miaohua_site.audit.models import AuditEvent
from team.models import Invitation, Membership, Role, invitation_token_hash
from team.services import members

User = get_user_model()
pytestmark = pytest.mark.django_db


def invite(client, **data):
    return client.post(reverse("team_member_invite"), {"role": "member", **data})


def shown_link(response) -> str:
    return re.search(r'id="shown-link" value="http://testserver([^"]+)"', response.content.decode()).group(1)


def link_for(admin, email="new@example.com", role="member", uses_team_account=False) -> str:
    _, sent = members.invitation_create(email=email, role=role, uses_team_account=uses_team_account, invited_by=admin)
    return sent.url


JOIN = {"username": "newcomer", "password1": "a-Long-pass-123", "password2": "a-Long-pass-123"}


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client


def test_an_admin_invites_by_email_and_sees_the_link_once(as_admin, admin_user, settings):
    settings.TEAM_INVITATION_DAYS = 3
    response = invite(as_admin, email="New@Example.com", role="viewer")
    assert response.status_code == 200
    link = shown_link(response)
    invitation = Invitation.objects.get()
    assert invitation.email == "New@example.com" and invitation.role == Role.VIEWER
    assert invitation.invited_by == admin_user
    assert abs(invitation.expires_at - (timezone.now() + timedelta(days=3))) < timedelta(minutes=1)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert invitation.token_hash == invitation_token_hash(token) and token not in invitation.token_hash
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["New@example.com"]
    assert f"http://testserver{link}" in mail.outbox[0].body and "3 days" in mail.outbox[0].body
    event = AuditEvent.objects.get(action=AuditEvent.Action.INVITATION_SENT)
    assert event.actor == admin_user and event.details["role"] == "viewer"
    assert token not in str(event.details)
    # Copy button beside a read-only input; no inline script (CSP).
    page = response.content.decode()
    assert "readonly" in page and 'data-copy-from="shown-link"' in page and "team.js" in page
    assert "<script>" not in page and "onclick" not in page


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"email": ""}, "email", "This field is required."),
        ({"email": "not an email"}, "email", "Enter a valid email address."),
        ({"email": "owner@example.com"}, "email", "Someone in the team already has this email."),
        ({"email": "OWNER@example.com"}, "email", "Someone in the team already has this email."),
        ({"email": "a" * 64 + "@" + "b" * 180 + ".example.com"}, "email", "Ensure this value has at most 254"),
        ({"email": "x@example.com", "role": "superuser"}, "role", "Select a valid choice."),
        ({"email": "x@example.com", "role": "99999999999999999999999"}, "role", "Select a valid choice."),
    ],
)
def test_bad_input_is_refused_beside_the_field_and_kept(as_admin, owner, data, field, message):
    response = invite(as_admin, **data)
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(rf'id="id_{field}_error">[^<]*{re.escape(message)}', page.replace("&#x27;", "'"))
    if data["email"]:
        assert f'value="{data["email"]}"' in page  # what was typed is kept
    assert not Invitation.objects.exists() and mail.outbox == []


def test_an_email_with_a_usable_invitation_is_refused_until_it_is_revoked(as_admin, admin_user):
    invite(as_admin, email="twice@example.com")
    again = invite(as_admin, email="twice@example.com")
    assert again.status_code == 400 and "already has an invitation that still works" in again.content.decode()
    invitation = Invitation.objects.get()
    revoked = as_admin.post(reverse("team_invitation_revoke", args=[invitation.pk]))
    assert revoked.status_code == 302
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INVITATION_REVOKED, target_id=str(invitation.pk)).exists()
    assert invite(as_admin, email="twice@example.com").status_code == 200
    assert Invitation.objects.count() == 2


def test_an_expired_invitation_does_not_block_a_new_one(as_admin, admin_user):
    link_for(admin_user, email="late@example.com")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert invite(as_admin, email="late@example.com").status_code == 200


def test_an_unreachable_mail_server_is_reported_and_the_link_still_shown(as_admin, settings):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    response = invite(as_admin, email="offline@example.com")
    assert response.status_code == 200
    assert "The email could not be sent" in response.content.decode()
    assert shown_link(response).startswith("/team/members/join/")
    assert Invitation.objects.filter(email="offline@example.com").exists()


def test_the_invitee_joins_with_a_user_name_and_password_and_is_signed_in(client, admin_user):
    link = link_for(admin_user, email="joiner@example.com", uses_team_account=True)
    form = client.get(link)
    assert form.status_code == 200 and "joiner@example.com" in form.content.decode()
    response = client.post(link, JOIN)
    assert response.status_code == 302
    user = User.objects.get(username="newcomer")
    assert user.email == "joiner@example.com" and user.check_password(JOIN["password1"]) and not user.is_staff
    assert user.membership.role == Role.MEMBER and user.membership.uses_team_account
    assert client.session["_auth_user_id"] == str(user.pk)
    invitation = Invitation.objects.get()
    assert invitation.accepted_at is not None and invitation.accepted_user == user
    event = AuditEvent.objects.get(action=AuditEvent.Action.INVITATION_ACCEPTED)
    assert event.actor == user and event.target_id == str(invitation.pk)


def test_an_admin_invitation_makes_an_admin(client, admin_user):
    client.post(link_for(admin_user, role="admin"), JOIN)
    user = User.objects.get(username="newcomer")
    assert user.is_staff and user.membership.role == Role.ADMIN


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({**JOIN, "password2": "something-else-1"}, "password2", "The two passwords differ"),
        ({**JOIN, "password1": "short", "password2": "short"}, "password1", "This password is too short"),
        ({**JOIN, "password1": "83920174652", "password2": "83920174652"}, "password1", "entirely numeric"),
        ({**JOIN, "password1": "newcomer12", "password2": "newcomer12"}, "password1", "too similar"),
        ({**JOIN, "username": "owner"}, "username", "This user name is taken"),
        ({**JOIN, "username": "OWNER"}, "username", "This user name is taken"),
        ({**JOIN, "username": "has space"}, "username", "Enter a valid username"),
        ({**JOIN, "username": ""}, "username", "This field is required"),
        ({**JOIN, "username": "x" * 151}, "username", "at most 150 characters"),
    ],
)
def test_the_join_form_refuses_bad_input_beside_the_field(client, admin_user, owner, data, field, message):
    link = link_for(admin_user)
    response = client.post(link, data)
    assert response.status_code == 400
    page = response.content.decode().replace("&#x27;", "'")
    error = re.search(rf'id="id_{field}_error">([^<]*)<', page)
    assert error and message in error.group(1)
    if data["username"] and field != "username":
        assert f'value="{data["username"]}"' in page  # the user name is kept
    assert data["password1"] not in re.findall(r'value="([^"]*)"', page)  # passwords never come back
    assert Invitation.objects.get().accepted_at is None
    assert not User.objects.filter(email="new@example.com").exists()


def test_a_link_used_twice_says_so(client, admin_user):
    link = link_for(admin_user)
    assert client.post(link, JOIN).status_code == 302
    client.logout()
    again = client.get(link)
    assert again.status_code == 410 and "already used" in again.content.decode()
    assert "<form" not in again.content.decode().split("<main", 1)[1].split("</main>")[0]
    second = client.post(link, {**JOIN, "username": "second"})
    assert second.status_code == 410 and not User.objects.filter(username="second").exists()


def test_an_expired_link_says_so(client, admin_user):
    link = link_for(admin_user)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    for response in (client.get(link), client.post(link, JOIN)):
        assert response.status_code == 410 and "expired" in response.content.decode()
    assert not User.objects.filter(username="newcomer").exists()


def test_a_revoked_link_says_so(client, admin_user):
    link = link_for(admin_user)
    members.invitation_revoke(invitation=Invitation.objects.get())
    for response in (client.get(link), client.post(link, JOIN)):
        assert response.status_code == 410 and "withdrawn" in response.content.decode()
    assert not User.objects.filter(username="newcomer").exists()


@pytest.mark.parametrize("token", ["abc", "a-b", "x" * 500, "99999999999999999999999", "%00"])
def test_a_made_up_link_says_so_and_never_answers_500(client, token):
    for response in (client.get(f"/team/members/join/{token}/"), client.post(f"/team/members/join/{token}/", JOIN)):
        assert response.status_code in (400, 404, 410)
    assert not User.objects.filter(username="newcomer").exists()


def test_an_invitation_whose_email_got_an_account_meanwhile_is_refused(client, admin_user, django_user_model):
    link = link_for(admin_user, email="late@example.com")
    django_user_model.objects.create_user("late", "late@example.com", "x-Long-pass-123")
    response = client.post(link, JOIN)
    assert response.status_code == 400
    assert "already has this invitation&#x27;s email" in response.content.decode()
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.django_db(transaction=True)
def test_of_two_accepts_at_once_one_wins(admin_user):
    link = link_for(admin_user)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    start = threading.Barrier(2)
    outcomes = []

    def accept(name):
        try:
            start.wait()
            members.invitation_accept(token=token, username=name, password="a-Long-pass-123")
            outcomes.append("joined")
        except members.InvitationUnusable:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(name,)) for name in ("tab-one", "tab-two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["joined", "refused"]
    assert User.objects.filter(username__startswith="tab-").count() == 1
    assert Membership.objects.filter(user__username__startswith="tab-").count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INVITATION_ACCEPTED).count() == 1
