"""The quotas page (/team/quotas/, admins): the team default, each member's own limits with what they used,
the 80 % alerts; and the Generate page's line of what is left, and its refusals beside the fields."""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from generation.models import GenerationTask
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.audit.models import AuditEvent
from team.models import Membership, QuotaAlert, TeamSettings

pytestmark = pytest.mark.django_db
State = GenerationTask.State
Action = AuditEvent.Action


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client


def task(user, n_images=1, state=State.DONE):
    return GenerationTask.objects.create(owner=user, n_images=n_images, state=state, prompt="earlier")


def row_of(page, user) -> str:
    html = page.content.decode()
    return re.search(rf'<tr id="member-{user.pk}".*?</tr>', html, re.S).group(0)


def team_data(day="", month="", flight=""):
    return {"images_per_day": day, "images_per_month": month, "tasks_in_flight": flight}


def member_data(user, day="", month="", flight=""):
    p = f"m{user.pk}-"
    return {f"{p}images_per_day": day, f"{p}images_per_month": month, f"{p}tasks_in_flight": flight}


# --- Who may look ---------------------------------------------------------------------------------------------


def test_a_visitor_is_sent_to_sign_in(client):
    for url in (reverse("team_quotas"), reverse("team_quota_left")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["owner", "outsider", "viewer"])
def test_members_and_viewers_may_not_see_or_change_quotas(client, who, request, teammate):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("team_quotas")).status_code == 403
    assert client.post(reverse("team_quota_defaults"), team_data(day="1000")).status_code == 403
    assert (
        client.post(reverse("team_quota_member", args=[teammate.pk]), member_data(teammate, day="9")).status_code == 403
    )
    assert client.post(reverse("team_quota_alerts_seen")).status_code == 403
    assert TeamSettings.load().images_per_day is None
    assert not Membership.objects.filter(user=teammate, images_per_day=9).exists()


def test_an_admin_sees_every_member_with_limits_and_usage(as_admin, owner, teammate, viewer):
    TeamSettings.objects.update_or_create(pk=1, defaults={"images_per_day": 50, "tasks_in_flight": 3})
    Membership.objects.create(user=owner, images_per_month=1000)
    task(owner, 12)
    task(owner, 4, state=State.FAILED)  # does not count
    task(owner, 2, state=State.PENDING)

    page = as_admin.get(reverse("team_quotas"))

    assert page.status_code == 200
    row = row_of(page, owner)
    assert "14 / 50" in row  # today, of the team default
    assert "14 / 1,000" in row  # this month, of their own limit
    assert "1 / 3" in row  # running
    assert 'value="1000"' in row and 'placeholder="the team default"' in row
    assert "0 / 50" in row_of(page, teammate) and "0 · no limit" in row_of(page, teammate)  # no monthly limit
    assert f'id="member-{viewer.pk}"' not in page.content.decode()  # viewers cannot generate
    assert 'value="50"' in page.content.decode()  # the team default form


# --- The team default ----------------------------------------------------------------------------------------


def test_an_admin_sets_the_team_default_and_it_is_audited(as_admin):
    TeamSettings.objects.update_or_create(pk=1, defaults={"images_per_day": 10})

    response = as_admin.post(reverse("team_quota_defaults"), team_data(day="50", month="1000", flight=""))

    assert response.status_code == 302
    team = TeamSettings.load()
    assert (team.images_per_day, team.images_per_month, team.tasks_in_flight) == (50, 1000, None)
    event = AuditEvent.objects.get(action=Action.TEAM_QUOTA_CHANGED)
    assert event.details["old"] == {"images_per_day": 10, "images_per_month": None, "tasks_in_flight": None}
    assert event.details["new"] == {"images_per_day": 50, "images_per_month": 1000, "tasks_in_flight": None}
    assert event.actor.username == "admin"
    assert "saved" in as_admin.get(response["Location"]).content.decode()


def test_saving_the_same_default_writes_nothing(as_admin):
    as_admin.post(reverse("team_quota_defaults"), team_data(day="5"))
    as_admin.post(reverse("team_quota_defaults"), team_data(day="5"))
    assert AuditEvent.objects.filter(action=Action.TEAM_QUOTA_CHANGED).count() == 1


@pytest.mark.parametrize(
    "typed",
    ["-1", "abc", "1.5", "99999999999999999999999", "1e3", "\u00b2"],
    ids=["negative", "text", "fraction", "huge", "exponent", "superscript"],
)
def test_a_bad_number_is_a_message_beside_its_field_and_what_was_typed_stays(as_admin, typed):
    response = as_admin.post(reverse("team_quota_defaults"), team_data(day=typed, month="700"))

    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'id="id_images_per_day_error">Use a whole number from 0 to 10,000,000', html)
    assert 'value="700"' in html  # the other field, kept
    assert TeamSettings.load().images_per_day is None and TeamSettings.load().images_per_month is None
    assert not AuditEvent.objects.filter(action=Action.TEAM_QUOTA_CHANGED).exists()


# --- A member's own limits -----------------------------------------------------------------------------------


def test_an_admin_sets_a_members_own_limits_and_blank_means_the_team_default(as_admin, owner):
    Membership.objects.create(user=owner, images_per_day=5)

    response = as_admin.post(reverse("team_quota_member", args=[owner.pk]), member_data(owner, month="300", flight="2"))

    assert response.status_code == 302 and response["Location"].endswith(f"#member-{owner.pk}")
    membership = Membership.objects.get(user=owner)
    assert (membership.images_per_day, membership.images_per_month, membership.tasks_in_flight) == (None, 300, 2)
    event = AuditEvent.objects.get(action=Action.QUOTA_CHANGED)
    assert event.target_repr == "owner"
    assert event.details == {
        "old": {"images_per_day": 5, "images_per_month": None, "tasks_in_flight": None},
        "new": {"images_per_day": None, "images_per_month": 300, "tasks_in_flight": 2},
    }


def test_a_member_without_a_row_gets_one_when_an_admin_sets_their_limits(as_admin, teammate):
    as_admin.post(reverse("team_quota_member", args=[teammate.pk]), member_data(teammate, day="7"))
    assert Membership.objects.get(user=teammate).images_per_day == 7


def test_a_bad_row_shows_its_messages_in_that_row_only(as_admin, owner, teammate):
    response = as_admin.post(
        reverse("team_quota_member", args=[owner.pk]), member_data(owner, day="-3", month="lots", flight="4")
    )

    assert response.status_code == 400
    row = row_of(response, owner)
    assert f'id="id_m{owner.pk}-images_per_day_error">Use a whole number from 0 to 10,000,000' in row
    assert f'id="id_m{owner.pk}-images_per_month_error">' in row
    assert 'value="-3"' in row and 'value="lots"' in row and 'value="4"' in row  # all kept
    assert "Use a whole number" not in row_of(response, teammate)
    assert not Membership.objects.filter(user=owner).exclude(tasks_in_flight=None).exists()


def test_a_too_large_in_flight_limit_is_refused(as_admin, owner):
    response = as_admin.post(reverse("team_quota_member", args=[owner.pk]), member_data(owner, flight="10001"))
    assert response.status_code == 400
    assert "Use a whole number from 0 to 10,000" in row_of(response, owner)


def test_a_member_who_is_not_there_is_not_found(as_admin, owner):
    assert as_admin.post(reverse("team_quota_member", args=[owner.pk + 100]), {}).status_code == 404
    assert as_admin.post(f"/team/quotas/members/{2**63}/", {}).status_code == 404
    owner.is_active = False
    owner.save()
    assert as_admin.post(reverse("team_quota_member", args=[owner.pk]), member_data(owner, day="1")).status_code == 404


def test_the_pages_answer_only_their_methods(as_admin, owner):
    assert as_admin.get(reverse("team_quota_defaults")).status_code == 405
    assert as_admin.get(reverse("team_quota_member", args=[owner.pk])).status_code == 405
    assert as_admin.post(reverse("team_quotas")).status_code == 405


# --- Alerts -----------------------------------------------------------------------------------------------------


def alert(user, kind="day", used=8, limit=10):
    return QuotaAlert.objects.create(user=user, kind=kind, period_start=timezone.localdate(), used=used, limit=limit)


def test_unseen_alerts_are_listed_and_badged_for_admins_only(as_admin, client, owner, teammate):
    alert(owner)
    alert(teammate, kind="month", used=900, limit=1000)

    page = as_admin.get(reverse("history"))
    assert re.search(r"Quotas <span class=\"badge[^\"]*\"[^>]*>2<", page.content.decode())
    quotas_page = as_admin.get(reverse("team_quotas")).content.decode()
    assert "<strong>owner</strong> used 8 of 10 images" in quotas_page
    assert "<strong>teammate</strong> used 900 of 1,000 images in" in quotas_page

    client.force_login(owner)
    assert "quota alerts" not in client.get(reverse("history")).content.decode()


def test_an_admin_marks_one_alert_or_all_seen(as_admin, owner, teammate):
    first, second = alert(owner), alert(teammate)

    as_admin.post(reverse("team_quota_alerts_seen"), {"alert": first.pk})
    assert QuotaAlert.objects.filter(seen_at__isnull=True).get() == second
    assert "<strong>owner</strong> used" not in as_admin.get(reverse("team_quotas")).content.decode()

    as_admin.post(reverse("team_quota_alerts_seen"))
    assert not QuotaAlert.objects.filter(seen_at__isnull=True).exists()
    assert "Members past 80 %" not in as_admin.get(reverse("team_quotas")).content.decode()


def test_a_tampered_alert_id_is_a_400(as_admin, owner):
    alert(owner)
    assert as_admin.post(reverse("team_quota_alerts_seen"), {"alert": "abc"}).status_code == 400
    assert QuotaAlert.objects.filter(seen_at__isnull=True).exists()


# --- What is left, on the Generate page ----------------------------------------------------------------------


def test_the_line_of_what_is_left_stops_polling_once_nothing_runs(client, owner):
    TeamSettings.objects.update_or_create(pk=1, defaults={"images_per_day": 50, "tasks_in_flight": 3})
    client.force_login(owner)
    running = task(owner, 2, state=State.PENDING)

    polled = client.get(reverse("team_quota_left"))
    assert polled.status_code == 200 and 'hx-trigger="every 5s"' in polled.content.decode()
    assert "Today 2 / 50 images · 1 / 3 running · resets at 00:00" in polled.content.decode()

    GenerationTask.objects.filter(pk=running.pk).update(state=State.DONE)
    final = client.get(reverse("team_quota_left"))
    assert final.status_code == 286 and "hx-trigger" not in final.content.decode()
    assert "0 / 3 running" in final.content.decode()


def test_without_limits_the_line_is_hidden(client, owner):
    client.force_login(owner)
    response = client.get(reverse("team_quota_left"))
    assert response.status_code == 286 and re.search(r'id="quota-left"[^>]*\bhidden\b', response.content.decode())


@pytest.fixture
def generating(client, owner, simulator_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.force_login(owner)
    return client


def form_data(**overrides):
    return {
        "idempotency_key": str(uuid.uuid4()),
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "keep this prompt",
        "neg_prompt": "and this one",
        "n_images": "4",
        "scale": "7",
        "ddim_steps": "20",
        "select_seed": "1234",
        "output_size": "640x640",
        "mode": "txt2img",
        "strength": "0.6",
        "lora_weight": "0.8",
        "sensitive_limit_value": "0",
        **overrides,
    }


def test_the_generate_page_says_what_is_left_and_when_it_resets(generating, owner):
    TeamSettings.objects.update_or_create(pk=1, defaults={"images_per_day": 50, "images_per_month": 1000})
    task(owner, 12)
    month = timezone.localtime().strftime("%B")

    page = generating.get(reverse("generate")).content.decode()

    assert f"Today 12 / 50 images · {month} 12 / 1,000 · resets at 00:00" in page


def test_a_refusal_by_the_daily_quota_is_beside_images_and_nothing_typed_is_lost(generating, owner):
    Membership.objects.create(user=owner, images_per_day=5)
    task(owner, 3)

    response = generating.post(reverse("generate"), form_data())

    assert response.status_code == 400
    html = response.content.decode()
    message = escape(
        "Your daily quota is 5 images; 3 are used, so 2 are left (resets at midnight). Ask for fewer images or wait."
    )
    assert f'id="id_n_images_error">{message}' in html
    assert "keep this prompt" in html and "and this one" in html and 'value="1234"' in html
    assert GenerationTask.objects.filter(owner=owner).count() == 1


def test_a_refusal_by_tasks_in_flight_is_said_at_the_top_of_the_form(generating, owner):
    Membership.objects.create(user=owner, tasks_in_flight=1)
    task(owner, 1, state=State.QUEUED)

    response = generating.post(reverse("generate"), form_data())

    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'role="alert">You already have 1 task running, your limit; wait for one to finish.<', html)
    assert "keep this prompt" in html


def test_try_again_past_the_quota_says_why_and_makes_nothing(generating, owner):
    Membership.objects.create(user=owner, images_per_day=1)
    failed = GenerationTask.objects.create(owner=owner, n_images=2, state=State.FAILED, params={"n_images": 2})

    response = generating.post(reverse("task_retry", args=[failed.pk]), follow=True)

    assert "Your daily quota is 1 image; 0 are used" in response.content.decode()
    assert GenerationTask.objects.filter(owner=owner).count() == 1
