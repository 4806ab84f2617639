"""The audit log page (/team/audit/) and its CSV: admins only, filters in the URL, keyset pages at a fixed cost,
bad filters answered beside the field."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from miaohua_site.audit import services as audit
from miaohua_site.audit import views
from miaohua_site.audit.models import AuditEvent

Action = AuditEvent.Action
HTMX = {"HTTP_HX_REQUEST": "true"}
pytestmark = pytest.mark.django_db


def event(action=Action.SIGN_IN, *, actor=None, days_ago=0.0, target="", **details) -> AuditEvent:
    made = audit.record(action, actor=actor, target=target or None, **details)
    AuditEvent.objects.filter(pk=made.pk).update(at=timezone.now() - timedelta(days=days_ago))
    return made


def shown(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="event-(\d+)"', response.content.decode())]


def next_cursor(response) -> str:
    found = re.search(r'hx-get="[^"]*cursor=([^"&]+)"', response.content.decode())
    return found.group(1) if found else ""


def newest_first(*events) -> list[int]:
    rows = AuditEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("-at", "-id")
    return list(rows.values_list("pk", flat=True))


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    AuditEvent.objects.all().delete()  # the sign-in of force_login; each test sets up its own events
    return client


# --- Who may look ---------------------------------------------------------------------------------------------


def test_an_admin_sees_the_log_in_a_table_with_when_who_action_target_and_from(as_admin, owner):
    made = audit.record(Action.SHARING_CHANGED, actor=owner, target=owner, share_with_team=True)
    AuditEvent.objects.filter(pk=made.pk).update(ip_address="203.0.113.5")
    response = as_admin.get(reverse("audit_log"))
    page = response.content.decode()
    assert response.status_code == 200 and shown(response) == [made.pk]
    assert "Sharing changed" in page and "203.0.113.5" in page and ">owner<" in page.replace("<td>owner", ">owner<")
    assert 'href="/team/audit/"' in page  # in the admin's user menu
    assert "share_with_team: yes" in page  # the details in a line


def test_a_member_gets_403_and_no_menu_entry(client, owner):
    client.force_login(owner)
    assert client.get(reverse("audit_log")).status_code == 403
    assert client.get(reverse("audit_export")).status_code == 403
    assert 'href="/team/audit/"' not in client.get(reverse("history")).content.decode()


def test_a_visitor_is_sent_to_sign_in(client):
    for url in (reverse("audit_log"), reverse("audit_export")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- Filters --------------------------------------------------------------------------------------------------


def test_it_filters_by_who_action_dates_and_target(as_admin, owner, teammate):
    signed_in = event(Action.SIGN_IN, actor=owner, days_ago=5)
    shared = event(Action.SHARING_CHANGED, actor=owner, days_ago=1, target="the owner's gallery")
    theirs = event(Action.SIGN_IN, actor=teammate, days_ago=1)
    today = timezone.localdate()

    def filtered(**params):
        return shown(as_admin.get(reverse("audit_log"), params))

    assert filtered(actor=owner.pk) == newest_first(signed_in, shared)
    assert filtered(action=Action.SIGN_IN) == newest_first(signed_in, theirs)
    assert filtered(**{"from": str(today - timedelta(days=2))}) == newest_first(shared, theirs)
    assert filtered(to=str(today - timedelta(days=3))) == [signed_in.pk]
    assert filtered(q="GALLERY") == [shared.pk]
    assert filtered(actor=owner.pk, action=Action.SIGN_IN) == [signed_in.pk]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"actor": "abc"}, "actor", "Choose a person from the list."),
        ({"actor": "99999999999999999999"}, "actor", "Choose a person from the list."),
        ({"action": "rm -rf"}, "action", "Choose an action from the list."),
        ({"from": "yesterday"}, "from", "Use a date like 2026-11-24."),
        ({"to": "2026-02-31"}, "to", "Use a date like 2026-11-24."),
        ({"from": "0001-01-01", "to": "9999-12-31"}, "to", "Use a date like 2026-11-24."),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "to", "The end date is before the start date."),
    ],
)
def test_a_bad_filter_is_answered_beside_its_field_never_a_500(as_admin, owner, params, field, message):
    event(actor=owner)
    for url in (reverse("audit_log"), reverse("audit_export")):
        response = as_admin.get(url, params)
        page = response.content.decode()
        assert response.status_code == 200 and shown(response) == []
        assert f'<div class="invalid-feedback" id="f-{field}-error">{message}</div>' in page


@pytest.mark.parametrize("cursor", ["abc", "!!", "MjAyNi0wMS0wMXwx", "OTk5OS0xMi0zMVQyMzo1OTo1OSswMDowMHx4", "\u00e9"])
def test_a_forged_cursor_starts_from_the_newest(as_admin, owner, cursor):
    made = event(actor=owner)
    for headers in ({}, HTMX):
        response = as_admin.get(reverse("audit_log"), {"cursor": cursor}, **headers)
        assert response.status_code == 200 and shown(response) == [made.pk]


# --- Paging ---------------------------------------------------------------------------------------------------


def walk(client, **params) -> list[int]:
    response = client.get(reverse("audit_log"), params)
    seen, cursor = shown(response), next_cursor(response)
    while cursor:
        fragment = client.get(reverse("audit_log"), {**params, "cursor": cursor}, **HTMX)
        assert "<html" not in fragment.content.decode()  # only the rows
        seen += shown(fragment)
        cursor = next_cursor(fragment)
    return seen


def test_the_pages_continue_without_repeats_or_gaps_also_filtered(as_admin, owner, teammate, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    made = [event(actor=owner if n % 3 else teammate, days_ago=n // 5) for n in range(17)]  # ties in time
    AuditEvent.objects.filter(pk__in=[e.pk for e in made[:5]]).update(at=timezone.now() - timedelta(days=9))
    assert walk(as_admin) == newest_first(*made)
    mine = [e for e in made if e.actor == owner]
    assert walk(as_admin, actor=owner.pk) == newest_first(*mine)


def test_an_event_written_meanwhile_does_not_shift_the_next_page(as_admin, owner, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    made = [event(actor=owner, days_ago=1) for _ in range(6)]
    first = as_admin.get(reverse("audit_log"))
    event(actor=owner)  # the newest: the top of the log, not the next page
    fragment = as_admin.get(reverse("audit_log"), {"cursor": next_cursor(first)}, **HTMX)
    assert shown(fragment) == newest_first(*made)[3:6]


def test_the_page_and_a_fragment_cost_the_same_whatever_the_size_of_the_log(as_admin, owner, monkeypatch):
    def count(**params):
        with CaptureQueriesContext(connection) as queries:
            response = as_admin.get(reverse("audit_log"), params, **(HTMX if "cursor" in params else {}))
        assert response.status_code == 200 and shown(response)
        return len(queries), next_cursor(response)

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for _ in range(3):
        event(actor=owner)
    small_page, cursor = count()
    small_fragment, _ = count(cursor=cursor)
    filtered_page, _ = count(actor=owner.pk, action=Action.SIGN_IN)

    monkeypatch.setattr(views, "PAGE_SIZE", 50)
    for n in range(120):
        event(Action.SIGN_OUT, actor=owner, days_ago=n / 100)
    large_page, cursor = count()
    large_fragment, _ = count(cursor=cursor)

    # the user, the people to filter by, the events, the queue badge, the quota alerts badge (admins)
    assert small_page == large_page == filtered_page == 5
    assert small_fragment == large_fragment == 2  # the user, the events


# --- CSV ------------------------------------------------------------------------------------------------------


def rows_of(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="miaohua-audit-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_holds_the_filtered_events_and_is_itself_recorded(as_admin, admin_user, owner, teammate):
    made = audit.record(Action.TASKS_DELETED, actor=owner, target="2 tasks", task_ids=[3, 4])
    AuditEvent.objects.filter(pk=made.pk).update(ip_address="192.0.2.1")
    event(Action.SIGN_IN, actor=teammate)
    event(Action.SIGN_IN_FAILED, target="=HYPERLINK(1)", actor_name="=cmd")
    rows = rows_of(as_admin.get(reverse("audit_export"), {"actor": owner.pk}, REMOTE_ADDR="198.51.100.1"))
    assert rows == [
        {
            "when": timezone.localtime(AuditEvent.objects.get(pk=made.pk).at).isoformat(),
            "who": "owner",
            "action": "Tasks moved to the trash",
            "target type": "",
            "target id": "",
            "target": "2 tasks",
            "from": "192.0.2.1",
            "details": '{"task_ids": [3, 4]}',
        }
    ]
    exported = AuditEvent.objects.get(action=Action.AUDIT_EXPORTED)
    assert (exported.actor, exported.ip_address) == (admin_user, "198.51.100.1")
    assert exported.details == {"query": f"actor={owner.pk}"}


def test_a_csv_cell_is_never_a_spreadsheet_formula(as_admin):
    event(Action.SIGN_IN_FAILED, target="=HYPERLINK(1)", actor_name="=cmd", username="=cmd")
    rows = rows_of(as_admin.get(reverse("audit_export"), {"action": Action.SIGN_IN_FAILED}))
    assert (rows[0]["who"], rows[0]["target"]) == ("'=cmd", "'=HYPERLINK(1)")


def test_the_csv_streams_more_events_than_a_page(as_admin, owner, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    for _ in range(12):
        event(actor=owner)
    assert len(rows_of(as_admin.get(reverse("audit_export"), {"action": Action.SIGN_IN}))) == 12
