"""Passwords changed, reset requested, set from a link, and sign-ins locked out are in the audit log — who, from
where — and never with a password in them."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from miaohua_site.audit.models import AuditEvent

Action = AuditEvent.Action
IP = "203.0.113.7"
pytestmark = pytest.mark.django_db


def only(action) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, events
    return events[0]


def test_a_changed_password_is_recorded_without_the_password(client, owner):
    client.force_login(owner)
    new = "a-new-Pass-456"
    wrong = {"old_password": "nope", "new_password1": new, "new_password2": new}
    client.post(reverse("password_change"), wrong, REMOTE_ADDR=IP)
    assert not AuditEvent.objects.filter(action=Action.PASSWORD_CHANGED).exists()  # refused: nothing changed

    right = {"old_password": "owner-pass-123", "new_password1": new, "new_password2": new}
    client.post(reverse("password_change"), right, REMOTE_ADDR=IP)
    event = only(Action.PASSWORD_CHANGED)
    assert (event.actor, event.ip_address, event.target_id) == (owner, IP, str(owner.pk))
    assert new not in str(event.details) and "owner-pass-123" not in str(event.details)


def test_a_reset_request_and_the_password_set_from_its_link_are_recorded(client, owner):
    client.post(reverse("password_reset"), {"email": "owner@example.com"}, REMOTE_ADDR=IP)
    requested = only(Action.PASSWORD_RESET_REQUESTED)
    assert requested.actor is None and requested.ip_address == IP
    assert requested.details == {"email": "owner@example.com", "accounts": 1}

    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    new = {"new_password1": "fresh-Pass-789", "new_password2": "fresh-Pass-789"}
    client.post(form.redirect_chain[-1][0], new, REMOTE_ADDR=IP)
    done = only(Action.PASSWORD_RESET_DONE)
    assert (done.actor, done.ip_address, done.target_id) == (owner, IP, str(owner.pk))
    assert "fresh-Pass-789" not in str(done.details)


def test_a_reset_for_an_address_nobody_has_is_recorded_as_such(client, owner):
    client.post(reverse("password_reset"), {"email": "nobody@example.com"}, REMOTE_ADDR=IP)
    assert only(Action.PASSWORD_RESET_REQUESTED).details == {"email": "nobody@example.com", "accounts": 0}


def test_a_lock_out_is_recorded_with_the_user_name_and_address(client, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "owner", "password": "wrong"}, REMOTE_ADDR=IP)
    locked = AuditEvent.objects.filter(action=Action.SIGN_IN_LOCKED_OUT)
    assert locked.count() == 1
    event = locked.get()
    assert (event.actor_name, event.ip_address, event.details) == ("owner", IP, {"username": "owner"})
    assert AuditEvent.objects.filter(action=Action.SIGN_IN_FAILED).count() == settings.AXES_FAILURE_LIMIT
