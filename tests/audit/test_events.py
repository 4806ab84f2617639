"""The audit log's own rules: who, what, when and from where; sign-ins and admin changes; written in the action's
transaction; never edited; kept AUDIT_RETENTION_DAYS."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from miaohua_site.audit import services as audit
from miaohua_site.audit.models import AuditEvent, AuditEventRefused

pytestmark = pytest.mark.django_db
Action = AuditEvent.Action


def only(action) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, events
    return events[0]


def test_it_records_a_sign_in_with_who_and_from_where(client, owner):
    client.post(reverse("login"), {"username": "owner", "password": "owner-pass-123"}, REMOTE_ADDR="198.51.100.4")
    event = only(Action.SIGN_IN)
    assert (event.actor, event.actor_name, event.ip_address) == (owner, "owner", "198.51.100.4")
    assert timezone.now() - event.at < timedelta(minutes=1)


def test_it_records_a_sign_out(client, owner):
    client.force_login(owner)
    client.post(reverse("logout"), REMOTE_ADDR="198.51.100.5")
    event = only(Action.SIGN_OUT)
    assert (event.actor, event.ip_address) == (owner, "198.51.100.5")


def test_it_records_a_failed_sign_in_with_the_name_typed_and_never_the_password(client, owner):
    client.post(reverse("login"), {"username": "owner", "password": "Wrong-Secret-42"}, REMOTE_ADDR="203.0.113.9")
    event = only(Action.SIGN_IN_FAILED)
    assert event.actor is None and event.actor_name == "owner" and event.ip_address == "203.0.113.9"
    assert event.details == {"username": "owner"}
    stored = json.dumps([event.actor_name, event.target_repr, event.details])
    assert "Wrong-Secret-42" not in stored and "password" not in stored


def test_it_takes_the_address_our_proxy_added_never_a_forged_one(client, owner, settings):
    settings.TRUSTED_PROXIES = 1
    client.post(
        reverse("login"),
        {"username": "owner", "password": "x"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7",
    )
    assert only(Action.SIGN_IN_FAILED).ip_address == "203.0.113.7"


def test_a_raw_x_forwarded_for_is_ignored_without_a_trusted_proxy(client, owner, settings):
    settings.TRUSTED_PROXIES = 0
    client.post(
        reverse("login"), {"username": "owner", "password": "x"}, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6"
    )
    assert only(Action.SIGN_IN_FAILED).ip_address == "10.0.0.1"


def test_it_records_a_change_made_in_django_admin(client, admin_user, owner):
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    response = client.post(
        f"/admin/auth/user/{owner.pk}/change/",
        {"username": "owner", "email": "new@example.com", "is_active": "on", "date_joined_0": "2026-01-01",
         "date_joined_1": "10:00:00", "initial-date_joined_0": "2026-01-01", "initial-date_joined_1": "10:00:00"},
        REMOTE_ADDR="192.0.2.10",
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    event = only(Action.ADMIN_CHANGE)
    assert (event.actor, event.ip_address) == (admin_user, "192.0.2.10")
    assert (event.target_type, event.target_id, event.target_repr) == ("auth.user", str(owner.pk), "owner")
    assert event.details["change"] == "changed" and "Email address" in event.details["message"]


def test_an_action_rolled_back_leaves_no_event(owner):
    with pytest.raises(RuntimeError), transaction.atomic():
        owner.first_name = "Changed"
        owner.save()
        audit.record(Action.SHARING_CHANGED, actor=owner, target=owner)
        raise RuntimeError("the action failed after its event was written")
    assert not AuditEvent.objects.exists()


def test_an_event_cannot_be_edited_or_deleted_by_the_product(owner):
    event = audit.record(Action.SIGN_IN, actor=owner)
    event.actor_name = "someone else"
    with pytest.raises(AuditEventRefused):
        event.save()
    with pytest.raises(AuditEventRefused):
        event.delete()
    event.refresh_from_db()
    assert event.actor_name == "owner"


def test_django_admin_shows_events_read_only(client, admin_user, owner):
    admin_user.is_superuser = True
    admin_user.save()
    event = audit.record(Action.SIGN_IN, actor=owner)
    client.force_login(admin_user)
    assert client.get("/admin/audit/auditevent/").status_code == 200
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"actor_name": "x"})
    event.refresh_from_db()
    assert event.actor_name == "owner"


def test_the_actor_name_stays_when_the_user_is_deleted(owner):
    event = audit.record(Action.SIGN_IN, actor=owner)
    owner.delete()
    event.refresh_from_db()
    assert event.actor is None and event.actor_name == "owner"


def test_the_retention_purge_removes_only_events_older_than_the_setting(owner, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old, recent = audit.record(Action.SIGN_IN, actor=owner), audit.record(Action.SIGN_OUT, actor=owner)
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=31))
    AuditEvent.objects.filter(pk=recent.pk).update(at=timezone.now() - timedelta(days=29))
    assert audit.audit_purge() == 1
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_the_purge_runs_daily_from_a_schedule_made_once():
    from django_q.models import Schedule

    audit.ensure_purge_schedule()
    audit.ensure_purge_schedule()
    schedule = Schedule.objects.get(func=audit.PURGE_JOB)
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1


def test_it_records_each_object_of_a_bulk_delete_in_django_admin(client, admin_user, django_user_model):
    admin_user.is_superuser = True
    admin_user.save()
    doomed = [django_user_model.objects.create_user(name) for name in ("leaver-1", "leaver-2")]
    client.force_login(admin_user)
    response = client.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [u.pk for u in doomed], "post": "yes"},
        REMOTE_ADDR="192.0.2.11",
    )
    assert response.status_code == 302 and not django_user_model.objects.filter(username__startswith="leaver")
    events = AuditEvent.objects.filter(action=Action.ADMIN_CHANGE).order_by("target_repr")
    assert [(e.target_repr, e.details["change"], e.actor, e.ip_address) for e in events] == [
        ("leaver-1", "deleted", admin_user, "192.0.2.11"),
        ("leaver-2", "deleted", admin_user, "192.0.2.11"),
    ]
