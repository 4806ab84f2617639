"""A member locked out by too many wrong passwords is shown so on the members page, and an admin lifts the pause
there (no Django admin needed); the lift is in the audit log."""

import pytest
from django.test import Client
from django.urls import reverse

from miaohua_site.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def lock_out(username, settings):
    visitor = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        visitor.post(reverse("login"), {"username": username, "password": "wrong"})


def signs_in(username, password) -> bool:
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def test_an_admin_sees_the_pause_and_lifts_it(client, admin_user, owner, teammate, settings):
    lock_out("owner", settings)
    assert not signs_in("owner", "owner-pass-123")  # paused, even with the right password

    client.force_login(admin_user)
    page = client.get(reverse("team_members")).content.decode()
    assert page.count("Sign-in paused until") == 1  # the owner's row only, not the teammate's
    assert reverse("team_member_unlock", args=[owner.pk]) in page

    response = client.post(reverse("team_member_unlock", args=[owner.pk]), follow=True)
    assert "owner can sign in again." in response.content.decode()
    assert "Sign-in paused until" not in response.content.decode()
    assert signs_in("owner", "owner-pass-123")
    event = AuditEvent.objects.get(action=AuditEvent.Action.SIGN_IN_UNLOCKED)
    assert (event.actor, event.target_id) == (admin_user, str(owner.pk))


def test_unlocking_someone_not_paused_says_so_and_records_nothing(client, admin_user, owner):
    client.force_login(admin_user)
    response = client.post(reverse("team_member_unlock", args=[owner.pk]), follow=True)
    assert "Sign-in was not paused for owner." in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN_UNLOCKED).exists()


def test_a_pause_that_has_run_out_is_not_shown(client, admin_user, owner, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt
    from django.utils import timezone

    lock_out("owner", settings)
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    client.force_login(admin_user)
    assert "Sign-in paused until" not in client.get(reverse("team_members")).content.decode()


def test_a_member_cannot_unlock_anyone(client, owner, teammate, settings):
    lock_out("teammate", settings)
    client.force_login(owner)
    assert client.post(reverse("team_member_unlock", args=[teammate.pk])).status_code == 403
    assert not signs_in("teammate", "teammate-pass-123")
