"""Quotas: images per local day and month and tasks in flight, per member with a team default, checked in
``generation_submit`` before anything is sent — also when two submissions race for the last images — and the
80 % alert admins get once per period. Miaohua's own account limits (codes 118, 123, 124) say what they are.

Tasks are stored while the engine is held (nothing is sent) unless a test is about the vendor; then the
simulator answers over real HTTP."""

import threading
import time
import uuid
from datetime import datetime, timedelta
from smtplib import SMTPException
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from generation import services
from generation.models import GenerationTask
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.audit.models import AuditEvent
from miaohua_site.simulator import stats
from miaohua_site.simulator.services.accounts import account_create
from team.models import Membership, QuotaAlert, TeamSettings
from team.services import quotas
from team.services.quotas import QuotaExceeded

State = GenerationTask.State


def params(n_images=1, **overrides) -> dict:
    return {
        "versionid": "sgl_artist_v0.3.5_0925",
        "prompt": "a lighthouse at dusk",
        "n_images": n_images,
        "scale": 7,
        "ddim_steps": 20,
        "select_seed": 42,
        "output_size": "640x640",
        **overrides,
    }


def submit(user, n_images=1, key=None):
    return services.generation_submit(user=user, params=params(n_images), idempotency_key=key or uuid.uuid4())


def team_default(**limits):
    TeamSettings.objects.update_or_create(pk=1, defaults=limits)


def own_limits(user, **limits):
    Membership.objects.update_or_create(user=user, defaults=limits)
    user.refresh_from_db()  # forget a cached membership


def task(user, n_images=1, state=State.DONE, created_at=None):
    return GenerationTask.objects.create(
        owner=user, n_images=n_images, state=state, created_at=created_at or timezone.now(), prompt="earlier"
    )


@pytest.fixture(autouse=True)
def held(engine_held):
    """Nothing is sent to Miaohua: these tests are about what is stored."""
    return engine_held


# --- At the boundary ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_takes_exactly_the_last_images_allowed_and_refuses_one_more(owner):
    team_default(images_per_day=5)
    submit(owner, 3)
    submit(owner, 2)  # exactly the last two

    with pytest.raises(QuotaExceeded) as refused:
        submit(owner, 1)

    assert refused.value.message == (
        "Your daily quota is 5 images; 5 are used, so none is left (resets at midnight). Ask for fewer images or wait."
    )
    assert refused.value.field == "n_images"
    assert GenerationTask.objects.filter(owner=owner).count() == 2


@pytest.mark.django_db
def test_the_refusal_says_how_many_are_left(owner):
    team_default(images_per_day=50)
    task(owner, 48)

    with pytest.raises(QuotaExceeded) as refused:
        submit(owner, 4)

    assert refused.value.message == (
        "Your daily quota is 50 images; 48 are used, so 2 are left (resets at midnight). Ask for fewer images or wait."
    )
    assert submit(owner, 2).n_images == 2  # what is left still goes


@pytest.mark.django_db
def test_failed_tasks_do_not_count_but_running_and_trashed_ones_do(owner):
    team_default(images_per_day=6)
    task(owner, 4, state=State.FAILED)
    task(owner, 2, state=State.PENDING)
    trashed = task(owner, 2)
    GenerationTask.objects.filter(pk=trashed.pk).update(deleted_at=timezone.now())

    status = quotas.quota_status(owner)

    assert (status.day.used, status.day.left) == (4, 2)
    submit(owner, 2)
    with pytest.raises(QuotaExceeded):
        submit(owner, 1)


@pytest.mark.django_db
def test_the_monthly_quota_counts_the_whole_local_month(owner, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    team_default(images_per_month=10)
    shanghai = ZoneInfo("Asia/Shanghai")
    now = timezone.localtime()
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    task(owner, 6, created_at=first + timedelta(minutes=1))  # this month, just
    task(owner, 5, created_at=first - timedelta(minutes=1))  # last month, just
    assert first.tzinfo.key == shanghai.key

    with pytest.raises(QuotaExceeded) as refused:
        submit(owner, 5)

    following = (first + timedelta(days=32)).replace(day=1)
    assert refused.value.message == (
        f"Your monthly quota is 10 images; 6 are used, so 4 are left (resets on 1 {following:%B}). "
        "Ask for fewer images or wait."
    )
    assert refused.value.kind == "month"
    submit(owner, 4)


@pytest.mark.django_db
def test_a_new_local_day_resets_the_daily_quota(owner, settings, monkeypatch):
    settings.TIME_ZONE = "Asia/Shanghai"  # midnight there is 16:00 UTC
    team_default(images_per_day=3)
    midnight = datetime(2026, 6, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
    task(owner, 3, created_at=midnight - timedelta(minutes=5))  # 23:55 on the 1st, local time

    monkeypatch.setattr(timezone, "now", lambda: midnight - timedelta(minutes=1))  # 23:59: still the 1st
    with pytest.raises(QuotaExceeded):
        submit(owner, 1)

    monkeypatch.setattr(timezone, "now", lambda: midnight + timedelta(minutes=1))  # 00:01 on the 2nd
    assert submit(owner, 3).pk


@pytest.mark.django_db
def test_a_new_month_resets_the_monthly_quota(owner, monkeypatch):
    team_default(images_per_month=2)
    first_of_july = datetime(2026, 7, 1, tzinfo=ZoneInfo("UTC"))
    task(owner, 2, created_at=first_of_july - timedelta(hours=1))

    monkeypatch.setattr(timezone, "now", lambda: first_of_july - timedelta(minutes=1))
    status = quotas.quota_status(owner)
    assert (status.month.used, status.month.resets_at) == (2, first_of_july)
    with pytest.raises(QuotaExceeded):
        submit(owner, 1)

    monkeypatch.setattr(timezone, "now", lambda: first_of_july + timedelta(minutes=1))
    assert quotas.quota_status(owner).month.used == 0


@pytest.mark.django_db
def test_the_in_flight_limit_waits_for_a_task_to_finish(owner):
    team_default(tasks_in_flight=3)
    running = [submit(owner) for _ in range(3)]

    with pytest.raises(QuotaExceeded) as refused:
        submit(owner)

    assert refused.value.message == "You already have 3 tasks running, your limit; wait for one to finish."
    assert refused.value.field is None  # said at the top of the form
    GenerationTask.objects.filter(pk=running[0].pk).update(state=State.DONE)
    assert submit(owner).pk


@pytest.mark.django_db
def test_a_resent_form_gives_back_its_task_without_counting_it_twice(owner):
    team_default(images_per_day=2)
    key = uuid.uuid4()
    first = submit(owner, 2, key=key)

    assert submit(owner, 2, key=key).pk == first.pk  # the quota is used up, yet the same form is no refusal
    assert GenerationTask.objects.filter(owner=owner).count() == 1


@pytest.mark.django_db
def test_try_again_is_counted_like_any_submission(owner):
    team_default(images_per_day=2)
    earlier = submit(owner, 2)
    with pytest.raises(QuotaExceeded):
        services.generation_retry(task=earlier)


# --- Team default, member override, none -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_members_own_limit_replaces_the_team_default(owner, teammate):
    team_default(images_per_day=2, tasks_in_flight=1)
    own_limits(owner, images_per_day=10)  # their own daily limit; in flight still the team's

    limits = quotas.limits_of(owner)

    assert (limits.images_per_day, limits.images_per_month, limits.tasks_in_flight) == (10, None, 1)
    submit(owner, 4)
    with pytest.raises(QuotaExceeded) as refused:
        submit(owner, 1)
    assert refused.value.kind == "in_flight"
    submit(teammate, 2)
    GenerationTask.objects.update(state=State.DONE)
    with pytest.raises(QuotaExceeded):
        submit(teammate, 1)  # the team default
    submit(owner, 6)


@pytest.mark.django_db
def test_a_members_zero_allows_nothing(owner):
    own_limits(owner, images_per_day=0)
    with pytest.raises(QuotaExceeded) as refused:
        submit(owner, 1)
    assert "Your daily quota is 0 images" in refused.value.message


@pytest.mark.django_db
def test_without_limits_a_submission_pays_one_update_and_counts_nothing(owner):
    Membership.objects.create(user=owner)
    TeamSettings.load()
    owner.refresh_from_db()
    owner.membership  # noqa: B018 — as a request's user has it after the role checks

    with CaptureQueriesContext(connection) as captured:
        submit(owner, 8)

    statements = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    statements = [s for s in statements if s not in ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")]
    # The key, the account, the team's defaults; the quota lock, the key again under it; the task.
    assert statements == ["SELECT", "SELECT", "SELECT", "UPDATE", "SELECT", "INSERT"]
    sql = " ".join(q["sql"].upper() for q in captured.captured_queries)
    assert "SUM(" not in sql and "COUNT(" not in sql


@pytest.mark.django_db
def test_a_member_without_a_row_gets_one_and_the_team_default(owner):
    team_default(images_per_day=1)
    assert not Membership.objects.filter(user=owner).exists()

    submit(owner, 1)
    with pytest.raises(QuotaExceeded):
        submit(owner, 1)
    assert Membership.objects.get(user=owner).quota_lock == 1  # the refused one's lock went with its rollback


# --- The race: two submissions for the last images at once ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_submissions_racing_for_the_last_images_one_wins(owner, django_user_model, monkeypatch):
    team_default(images_per_day=10)
    task(owner, 8)
    counted = quotas.quota_check

    def count_slowly(*args, **kwargs):
        status = counted(*args, **kwargs)
        time.sleep(0.3)  # a wide window between counting and storing: unserialised, both would count 8 and win
        return status

    monkeypatch.setattr(quotas, "quota_check", count_slowly)
    barrier = threading.Barrier(2)  # both submit at the same moment
    outcomes = []

    def member_submits():
        user = django_user_model.objects.get(pk=owner.pk)
        try:
            barrier.wait(timeout=5)
            outcomes.append(submit(user, 2))
        except QuotaExceeded as refused:
            outcomes.append(refused)
        finally:
            connection.close()

    threads = [threading.Thread(target=member_submits) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    tasks = [o for o in outcomes if isinstance(o, GenerationTask)]
    refusals = [o for o in outcomes if isinstance(o, QuotaExceeded)]
    assert len(tasks) == 1 and len(refusals) == 1, outcomes
    assert "so 0 are left" not in refusals[0].message and "none is left" in refusals[0].message
    assert quotas.quota_status(owner).day.used == 10


# --- The 80 % alert -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admins_are_told_once_per_day_when_a_member_passes_80_percent(
    owner, admin_user, django_user_model, django_capture_on_commit_callbacks
):
    django_user_model.objects.create_user("admin2", "", "x", is_staff=True)  # no address: not emailed
    django_user_model.objects.create_user("gone", "gone@example.com", "x", is_staff=True, is_active=False)
    team_default(images_per_day=10)

    with django_capture_on_commit_callbacks(execute=True):
        submit(owner, 7)  # 70 %: nothing yet
    assert not QuotaAlert.objects.exists() and not mail.outbox

    with django_capture_on_commit_callbacks(execute=True):
        submit(owner, 1)  # 80 %
    with django_capture_on_commit_callbacks(execute=True):
        submit(owner, 2)  # 100 %: the same day, no second alert

    alert = QuotaAlert.objects.get()
    assert (alert.user, alert.kind, alert.used, alert.limit) == (owner, "day", 8, 10)
    assert alert.period_start == timezone.localdate()
    assert [m.to for m in mail.outbox] == [["admin@example.com"]]
    assert "owner has used 8 of 10 images today (80 %)" in mail.outbox[0].body
    assert "/team/quotas/" in mail.outbox[0].body
    event = AuditEvent.objects.get(action=AuditEvent.Action.QUOTA_ALERT)
    assert event.target_repr == "owner" and event.details["used"] == 8 and event.details["limit"] == 10


@pytest.mark.django_db
def test_the_monthly_alert_is_separate_and_a_new_day_alerts_again(owner, admin_user, monkeypatch):
    team_default(images_per_day=5, images_per_month=100)
    yesterday = timezone.now() - timedelta(days=1)
    QuotaAlert.objects.create(user=owner, kind="day", period_start=timezone.localdate(yesterday), used=4, limit=5)

    submit(owner, 4)  # 80 % of today's: an alert of today

    assert QuotaAlert.objects.filter(kind="day").count() == 2
    assert not QuotaAlert.objects.filter(kind="month").exists()  # 4 of 100


@pytest.mark.django_db
def test_an_alert_that_cannot_be_emailed_never_breaks_the_submission(
    owner, admin_user, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.team.test_quotas.RefusingBackend"
    team_default(images_per_month=5)

    with django_capture_on_commit_callbacks(execute=True):
        stored = submit(owner, 5)

    assert GenerationTask.objects.filter(pk=stored.pk).exists()
    assert QuotaAlert.objects.get().kind == "month"
    assert "could not be emailed" in caplog.text


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise SMTPException("550 the mail server refuses")


@pytest.mark.django_db
def test_a_refused_submission_alerts_nobody(owner, admin_user):
    team_default(images_per_day=4)
    with pytest.raises(QuotaExceeded):
        submit(owner, 5)
    assert not QuotaAlert.objects.exists()


# --- Miaohua's own limits on the account --------------------------------------------------------------------

ACCOUNT_NOT_TEAM = "Miaohua's own limit on the account, not your team quota"


@pytest.fixture
def connected(owner, simulator_url, settings, tmp_path, engine_held, monkeypatch):
    from miaohua_site.workers import engine

    monkeypatch.undo()  # the engine runs again: these tasks are sent to the simulator
    assert engine.wake is not None
    settings.GENERATION_MIRROR_IMAGES = False
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.2
    settings.MEDIA_ROOT = tmp_path / "media"
    return upstream_account_store(user=owner, email="demo@example.com", password="demo")


@pytest.mark.django_db(transaction=True)
def test_miaohuas_daily_download_limit_is_said_as_what_it_is(owner, connected, settings, client):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_code=118,endpoints=task_submit"

    stored = submit(owner)

    stored.refresh_from_db()
    assert stored.state == State.FAILED
    assert stored.error_message.startswith("Miaohua's daily download limit for this Miaohua account is reached")
    assert ACCOUNT_NOT_TEAM in stored.error_message and "wait until tomorrow" in stored.error_message
    assert stats.calls("task_submit", code=118) == 1 and stats.calls("task_submit") == 1  # never resent
    client.force_login(owner)
    assert escape(stored.error_message) in client.get(reverse("task_card", args=[stored.pk])).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_balance_too_low_says_to_top_up(owner, connected):
    account_create(email="demo@example.com", password="demo", credits=1)

    stored = submit(owner, 2)  # two images need two credits

    stored.refresh_from_db()
    assert stored.state == State.FAILED
    assert stored.error_message == (
        "The Miaohua account's balance is too low for this task (Miaohua's own limit on the account, not your "
        "team quota): top up the account at Miaohua, or ask for fewer images."
    )
    assert stats.calls("task_submit", code=124) == 1


@pytest.mark.django_db(transaction=True)
def test_too_many_running_on_the_account_is_retried_and_then_said_plainly(owner, connected, settings):
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_code=123,endpoints=task_submit"
    settings.GENERATION_SUBMIT_RETRIES = 2
    settings.GENERATION_SUBMIT_RETRY_SECONDS = 0.05

    stored = submit(owner)

    stored.refresh_from_db()
    assert stats.calls("task_submit", code=123) == 2  # "not now": sent again
    assert stored.state == State.FAILED
    assert stored.error_message == (
        "Miaohua's limit of running tasks for this Miaohua account is reached (Miaohua's own limit on the "
        "account, not your team quota): wait for running tasks to finish. Nothing was sent — try again."
    )


@pytest.mark.django_db(transaction=True)
def test_while_it_waits_for_the_accounts_running_tasks_the_card_says_why(owner, connected, settings, monkeypatch):
    from miaohua_site.workers import engine

    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_code=123,endpoints=task_submit"
    monkeypatch.setattr(engine, "wake", lambda: None)
    stored = submit(owner)

    assert services.generation_send(task_id=stored.pk) == "retry"

    stored.refresh_from_db()
    assert stored.state == State.QUEUED
    assert stored.retry_reason.startswith(
        "Miaohua's limit of running tasks for this Miaohua account is reached (Miaohua's own limit on the "
        "account, not your team quota): wait for running tasks to finish. Nothing was sent. Trying again shortly"
    )
