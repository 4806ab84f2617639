"""Usage (/team/usage/ and its CSV): images, tasks and failures per member, model and LoRA, per day / week / month,
failures by reason, training jobs; each member sees only their own, admins everyone's; bad input is a 400 beside
its field, never a 500; a fixed number of queries whatever the history."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from generation import catalog
from generation.models import GenerationTask
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.audit.models import AuditEvent
from team.models import Membership, Role
from training.models import TrainingJob

pytestmark = pytest.mark.django_db
State = GenerationTask.State
ARTIST, SDXL = "Artist v0.3.5", "SDXL 1.0"
REFUSED = "Miaohua could not generate the images: the prompt was refused. Task {}."
TIMED_OUT = "timed out upstream: Miaohua did not finish the task within 15 minutes."
RANGE = {"from": "2026-09-01", "to": "2026-11-30"}


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def task(owner, day, *, state=State.DONE, model=ARTIST, n=2, lora="", error="", hour=10) -> GenerationTask:
    return GenerationTask.objects.create(
        owner=owner, state=state, model_name=model, n_images=n, lora_versionid=lora, error_message=error,
        created_at=at(day, hour),
    )


def training(owner, day, state) -> TrainingJob:
    return TrainingJob.objects.create(
        owner=owner, name="ink", base_model=ARTIST, main_body="cat", trigger_word="inkcat", state=state,
        created_at=at(day),
    )


@pytest.fixture
def history(owner, teammate):
    """Two members, two models, two LoRAs, failures for two reasons, over three months (and weeks), two trainings.

    owner:    Sep 14 Artist+ink 2 images · Sep 15 SDXL 4 · Sep 15 failed (refused) · Oct 6 Artist+ink 1 ·
              Nov 10 SDXL failed (timed out)
    teammate: Sep 14 SDXL 3 · Oct 7 Artist failed (refused) · Nov 11 Artist+pixel 2"""
    task(owner, "2026-09-14", lora="lora_ink_sketch_v1", n=2)
    task(owner, "2026-09-15", model=SDXL, n=4)
    task(owner, "2026-09-15", state=State.FAILED, n=2, error=REFUSED.format(101), hour=11)
    task(owner, "2026-10-06", lora="lora_ink_sketch_v1", n=1)
    task(owner, "2026-11-10", model=SDXL, state=State.FAILED, error=TIMED_OUT)
    task(teammate, "2026-09-14", model=SDXL, n=3)
    task(teammate, "2026-10-07", state=State.FAILED, error=REFUSED.format(202))
    task(teammate, "2026-11-11", lora="lora_pixel_art_v2", n=2)
    training(owner, "2026-09-20", TrainingJob.State.DONE)
    training(teammate, "2026-10-08", TrainingJob.State.FAILED)


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", html, re.S)]


def table(response, table_id: str) -> list[list[str]]:
    """The rows of a table of the page (head, body and foot), each as its cells' text."""
    page = response.content.decode()
    found = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', page, re.S)
    assert found, f"no table #{table_id}"
    return [cells(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)]


def bars_of(response) -> list[str]:
    """Each bar's tooltip in the chart, left to right."""
    svg = re.search(r'<svg class="usage-chart".*?</svg>', response.content.decode(), re.S).group(0)
    return re.findall(r'<g class="bar"><title>([^<]*)</title>', svg)


def csv_rows(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def get(client, **params):
    return client.get(reverse("usage"), {**RANGE, **params})


# --- The numbers ----------------------------------------------------------------------------------------------


def test_it_counts_images_tasks_and_failures_per_month_by_member_for_an_admin(client, admin_user, history):
    client.force_login(admin_user)
    response = get(client, period="month", breakdown="member")
    assert response.status_code == 200
    assert table(response, "usage-periods") == [
        ["Month", "owner", "teammate", "Images", "Tasks", "Failed"],
        ["2026-09", "6", "3", "9", "4", "1"],
        ["2026-10", "1", "0", "1", "2", "1"],
        ["2026-11", "0", "2", "2", "2", "1"],
        ["Total", "7", "5", "12", "8", "3"],
    ]
    assert table(response, "usage-breakdown") == [
        ["Member", "Images", "Tasks", "Failed", "Share of images"],
        ["owner", "7", "5", "2", "58 %"],
        ["teammate", "5", "3", "1", "42 %"],
        ["Total", "12", "8", "3", ""],
    ]


def test_it_counts_per_week_from_monday(client, admin_user, history):
    client.force_login(admin_user)
    rows = table(get(client, period="week", breakdown="member"), "usage-periods")
    assert rows[0][0] == "Week of"
    shown = {row[0]: row[1:] for row in rows[1:-1] if row[4] != "0"}  # the weeks with tasks
    assert shown == {"2026-09-14": ["6", "3", "9", "4", "1"], "2026-10-05": ["1", "0", "1", "2", "1"],
                     "2026-11-09": ["0", "2", "2", "2", "1"]}
    assert rows[1][0] == "2026-08-31" and len(rows) == 2 + 14  # Aug 31 – Nov 30: 14 weeks, empty ones too


def test_days_are_the_teams_days_in_its_time_zone(client, admin_user, owner, settings):
    settings.TIME_ZONE = "Asia/Shanghai"  # UTC+8: 20:00 UTC on the 14th is 04:00 on the 15th there
    task(owner, "2026-09-14", hour=20, n=3)
    task(owner, "2026-09-14", hour=10, n=1)
    client.force_login(admin_user)
    rows = table(get(client, **{"from": "2026-09-13", "to": "2026-09-16"}, period="day"), "usage-periods")
    assert [row[0] for row in rows[1:-1]] == ["2026-09-13", "2026-09-14", "2026-09-15", "2026-09-16"]
    assert [row[2] for row in rows[1:-1]] == ["0", "1", "3", "0"]  # images per day


def test_it_counts_per_model(client, admin_user, history):
    client.force_login(admin_user)
    rows = table(get(client, period="month", breakdown="model"), "usage-breakdown")
    assert rows[1:] == [[SDXL, "7", "3", "1", "58 %"], [ARTIST, "5", "5", "2", "42 %"], ["Total", "12", "8", "3", ""]]


def test_a_lora_is_named_by_the_team_training_that_made_it_else_shown_by_its_id(client, admin_user, owner, history):
    TrainingJob.objects.filter(owner=owner).update(lora_versionid="lora_ink_sketch_v1", lora_model_name="Team ink")
    client.force_login(admin_user)
    rows = table(get(client, period="month", breakdown="lora"), "usage-breakdown")
    assert rows[1:-1] == [
        ["No LoRA", "7", "5", "3", "58 %"],
        ["Team ink (lora_ink_sketch_v1)", "3", "2", "0", "25 %"],
        ["lora_pixel_art_v2", "2", "1", "0", "17 %"],
    ]


@pytest.mark.django_db(transaction=True)  # the simulator answers from the live server's thread
def test_a_lora_is_named_as_the_catalog_names_it(client, owner, simulator_url):
    """The LoRA catalog the Generate page fetched (kept in the cache) names the LoRAs; the page itself never asks
    Miaohua."""
    account = upstream_account_store(user=owner, email="demo@example.com", password="demo")
    assert catalog.ensure(account, [("lora",)])[("lora",)].ready  # the worker's refresh (inline in tests)
    task(owner, "2026-09-14", lora="lora_ink_sketch_v1", n=2)
    task(owner, "2026-09-15", lora="lora_made_up", n=1)
    client.force_login(owner)
    rows = table(get(client, breakdown="lora", period="month"), "usage-breakdown")
    assert [row[0] for row in rows[1:-1]] == ["Ink Sketch (lora_ink_sketch_v1)", "lora_made_up"]


def test_trashed_tasks_still_count_they_were_sent(client, owner):
    task(owner, "2026-09-14", n=2)
    GenerationTask.objects.update(deleted_at=timezone.now())
    client.force_login(owner)
    assert table(get(client, period="month"), "usage-breakdown")[-1] == ["Total", "2", "1", "0", ""]


def test_images_are_those_of_done_tasks_only(client, owner):
    task(owner, "2026-09-14", n=4)
    task(owner, "2026-09-14", n=4, state=State.FAILED, error="No.")
    task(owner, "2026-09-14", n=4, state=State.PENDING)
    client.force_login(owner)
    response = get(client, period="month")
    assert table(response, "usage-breakdown")[-1] == ["Total", "4", "3", "1", ""]
    assert "n_images" in response.content.decode()  # the note says what an image is


def test_failures_are_grouped_by_the_first_sentence_of_their_reason(client, admin_user, history):
    client.force_login(admin_user)
    rows = table(get(client), "usage-failures")
    assert [row[:2] for row in rows] == [
        ["Reason", "Failed tasks"],
        ["Miaohua could not generate the images: the prompt was refused.", "2"],
        [TIMED_OUT, "1"],
        ["Total", "3"],
    ]
    assert rows[1][2] == "2026-10-07 10:00"  # the latest of the two


def test_training_jobs_are_counted_per_period_and_state_and_per_member(client, admin_user, history):
    client.force_login(admin_user)
    response = get(client, period="month")
    head, *lines, total = table(response, "usage-training")
    assert head == ["Month", "Queued", "Submitting", "Training", "Done", "Failed", "All"]
    assert lines == [["2026-09", "0", "0", "0", "1", "0", "1"], ["2026-10", "0", "0", "0", "0", "1", "1"]]
    assert total == ["Total", "0", "0", "0", "1", "1", "2"]
    assert table(response, "usage-training-owners")[1:] == [
        ["owner", "0", "0", "0", "1", "0", "1"],
        ["teammate", "0", "0", "0", "0", "1", "1"],
    ]


def test_the_default_range_is_the_last_30_days(client, owner):
    today = timezone.localdate()
    for days_ago, n in ((0, 1), (29, 2), (30, 4)):
        GenerationTask.objects.create(
            owner=owner, state=State.DONE, n_images=n, model_name=ARTIST,
            created_at=timezone.now() - timedelta(days=days_ago),
        )
    client.force_login(owner)
    response = client.get(reverse("usage"))
    rows = table(response, "usage-periods")
    assert len(rows) == 2 + 30
    assert rows[1][0] == (today - timedelta(days=29)).isoformat() and rows[-2][0] == today.isoformat()
    assert rows[-1][-3] == "3"  # 1 + 2: the task of 30 days ago is outside


@pytest.mark.parametrize(
    ("start", "end", "period", "bars"),
    [
        ("2026-09-01", "2026-11-30", "day", 91),
        ("2026-01-01", "2026-12-31", "week", 53),
        ("2024-01-01", "2026-12-31", "month", 36),
    ],
)
def test_without_a_period_one_that_suits_the_range_is_chosen(client, owner, start, end, period, bars):
    client.force_login(owner)
    response = client.get(reverse("usage"), {"from": start, "to": end})
    assert f'<option value="{period}" selected>' in response.content.decode()
    assert len(bars_of(response)) == bars


# --- The chart ------------------------------------------------------------------------------------------------


def test_the_chart_has_a_bar_per_period_stacked_by_the_breakdown(client, admin_user, history):
    client.force_login(admin_user)
    response = get(client, period="month", breakdown="member")
    page = response.content.decode()
    assert bars_of(response) == [
        "2026-09: 9 images (owner 6, teammate 3)",
        "2026-10: 1 image (owner 1)",
        "2026-11: 2 images (teammate 2)",
    ]
    svg = re.search(r'<svg class="usage-chart".*?</svg>', page, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="usage-chart-title usage-chart-desc"' in svg
    assert '<title id="usage-chart-title">Images per month by member</title>' in svg
    assert "owner 7; teammate 5" in svg  # the description tells the totals
    assert len(re.findall(r'<rect class="usage-s\d"', svg)) == 4  # Sep: two segments, Oct and Nov one each
    assert "<script" not in svg and "onclick" not in svg and "style=" not in svg  # CSP: classes only


def test_the_chart_has_an_empty_bar_for_each_quiet_day(client, owner):
    client.force_login(owner)
    response = client.get(reverse("usage"))
    assert len(bars_of(response)) == 30 and all(title.endswith(": 0 images") for title in bars_of(response))


def test_the_chart_stacks_the_top_five_and_other(client, admin_user, owner):
    for index in range(7):
        task(owner, "2026-09-14", model=f"Model {index}", n=index + 1)
    client.force_login(admin_user)
    response = get(client, period="month", breakdown="model")
    head = table(response, "usage-periods")[0]
    assert head[1:7] == ["Model 6", "Model 5", "Model 4", "Model 3", "Model 2", "Other"]
    assert table(response, "usage-periods")[1][1:7] == ["7", "6", "5", "4", "3", "3"]  # Other: 2 + 1
    assert len(table(response, "usage-breakdown")) == 1 + 7 + 1  # every model in the second table


# --- Who sees what --------------------------------------------------------------------------------------------


def test_a_member_sees_only_their_own_usage_in_the_page_the_chart_and_the_csv(client, owner, history):
    client.force_login(owner)
    response = get(client, period="month", breakdown="member")
    page = response.content.decode()
    assert table(response, "usage-breakdown")[1:] == [["owner", "7", "5", "2", "100 %"], ["Total", "7", "5", "2", ""]]
    assert "teammate" not in page and 'id="u-member"' not in page
    assert bars_of(response) == ["2026-09: 6 images (owner 6)", "2026-10: 1 image (owner 1)", "2026-11: 0 images"]
    assert [row[0] for row in table(response, "usage-failures")[1:-1]] == [
        "Miaohua could not generate the images: the prompt was refused.", TIMED_OUT,
    ]
    assert table(response, "usage-failures")[-1][:2] == ["Total", "2"]
    assert table(response, "usage-training")[-1][-1] == "1"
    exported = csv_rows(client.get(reverse("usage_export"), {**RANGE, "period": "month", "breakdown": "member"}))
    assert {row[3] for row in exported[1:]} == {"owner"}


def test_a_member_asking_for_another_members_usage_gets_a_404(client, owner, teammate, history):
    client.force_login(owner)
    assert get(client, member=teammate.pk).status_code == 404
    assert client.get(reverse("usage_export"), {"member": teammate.pk}).status_code == 404
    assert get(client, member="not-an-id").status_code == 404
    own = get(client, member=owner.pk, period="month", breakdown="member")
    assert own.status_code == 200 and table(own, "usage-breakdown")[1][0] == "owner"


def test_an_admin_may_look_at_one_member(client, admin_user, teammate, history):
    client.force_login(admin_user)
    response = get(client, member=teammate.pk, period="month", breakdown="member")
    assert table(response, "usage-breakdown")[1:-1] == [["teammate", "5", "3", "1", "100 %"]]
    assert f'<option value="{teammate.pk}" selected>teammate</option>' in response.content.decode()
    assert "Usage of teammate" in response.content.decode()
    assert "usage-training-owners" not in response.content.decode()
    exported = csv_rows(client.get(reverse("usage_export"), {**RANGE, "member": teammate.pk, "breakdown": "member"}))
    assert {row[3] for row in exported[1:]} == {"teammate"}


def test_a_viewer_sees_their_own_usage_which_is_nothing(client, viewer, history):
    client.force_login(viewer)
    response = get(client, period="month", breakdown="member")
    assert response.status_code == 200
    assert table(response, "usage-periods")[-1] == ["Total", "0", "0", "0"]
    assert bars_of(response) == ["2026-09: 0 images", "2026-10: 0 images", "2026-11: 0 images"]
    assert "owner" not in response.content.decode()


def test_a_membership_marked_admin_without_is_staff_is_still_a_member_here(client, owner, teammate, history):
    Membership.objects.create(user=owner, role=Role.ADMIN)  # is_staff is the one test of "admin"
    client.force_login(owner)
    assert get(client, member=teammate.pk).status_code == 404


def test_a_visitor_is_sent_to_sign_in(client):
    for url in (reverse("usage"), reverse("usage_export")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- CSV ------------------------------------------------------------------------------------------------------


def test_the_csv_has_period_times_breakdown_with_the_filters_of_the_page(client, admin_user, history):
    client.force_login(admin_user)
    response = client.get(reverse("usage_export"), {**RANGE, "period": "month", "breakdown": "model"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="miaohua-usage-20260901-20261130-month-model.csv"'
    assert csv_rows(response) == [
        ["period", "period start", "breakdown", "name", "id", "tasks", "images", "failed"],
        ["month", "2026-09-01", "Model", SDXL, SDXL, "2", "7", "0"],
        ["month", "2026-09-01", "Model", ARTIST, ARTIST, "2", "2", "1"],
        ["month", "2026-10-01", "Model", ARTIST, ARTIST, "2", "1", "1"],
        ["month", "2026-11-01", "Model", SDXL, SDXL, "1", "0", "1"],
        ["month", "2026-11-01", "Model", ARTIST, ARTIST, "1", "2", "0"],
    ]
    page = get(client, period="month", breakdown="model").content.decode()
    assert "/team/usage/export.csv?from=2026-09-01&amp;to=2026-11-30&amp;period=month&amp;breakdown=model" in page


def test_a_cell_that_looks_like_a_formula_is_quoted_in_the_csv(client, owner):
    task(owner, "2026-09-14", model='=HYPERLINK("http://evil.example","x")', lora="+cmd")
    client.force_login(owner)
    rows = csv_rows(client.get(reverse("usage_export"), {**RANGE, "breakdown": "model"}))
    assert rows[1][3] == rows[1][4] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    rows = csv_rows(client.get(reverse("usage_export"), {**RANGE, "breakdown": "lora"}))
    assert rows[1][3] == rows[1][4] == "'+cmd"


def test_reading_or_exporting_usage_writes_no_audit_event(client, admin_user, history):
    client.force_login(admin_user)
    before = AuditEvent.objects.count()
    get(client)
    client.get(reverse("usage_export"), RANGE)
    assert AuditEvent.objects.count() == before


# --- Bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "yesterday"}, "from", "Use a date like 2026-11-24."),
        ({"to": "2026-02-31"}, "to", "Use a date like 2026-11-24."),
        ({"from": "2026-11-02", "to": "2026-11-01"}, "to", "The end date is before the start date."),
        ({"from": "0001-01-01"}, "from", "Use a date like 2026-11-24."),
        ({"period": "hour"}, "period", "Choose day, week or month."),
        ({"breakdown": "prompt"}, "breakdown", "Choose member, model or LoRA."),
        ({"from": "2020-01-01", "to": "2026-01-01", "period": "day"}, "period", "That is more than 400 days"),
        ({"from": "1900-01-01", "to": "9000-12-31"}, "period", "That is more than 400 months: choose a shorter range."),
        ({"member": "abc"}, "member", "Choose a person from the list."),
        ({"member": "99999999999999999999"}, "member", "Choose a person from the list."),
        ({"member": "424242"}, "member", "Choose a person from the list."),
    ],
)
def test_a_bad_filter_is_a_400_with_the_reason_beside_its_field(client, admin_user, params, field, message):
    client.force_login(admin_user)
    for url in (reverse("usage"), reverse("usage_export")):
        response = client.get(url, params)
        page = response.content.decode()
        assert response.status_code == 400, url
        assert f'<div class="invalid-feedback" id="u-{field}-error">{message}' in page
        assert "Correct the filters marked above" in page


def test_what_was_typed_stays_in_the_field(client, owner):
    client.force_login(owner)
    page = get(client, **{"from": "2026-13-01"}).content.decode()
    assert 'name="from" value="2026-13-01"' in page


def test_strange_values_never_answer_500(client, owner, admin_user, history):
    values = ["", " ", "0", "-1", "1e9", "NaN", "９", "2026-09-01T00:00", "<script>", "'; DROP TABLE x;--", "2" * 40]
    for user in (owner, admin_user):
        client.force_login(user)
        for name in ("from", "to", "period", "breakdown", "member"):
            for value in values:
                for url in (reverse("usage"), reverse("usage_export")):
                    status = client.get(url, {name: value}).status_code
                    assert status in (200, 400, 404), (user, name, value, status)


def test_only_get_is_answered(client, owner):
    client.force_login(owner)
    assert client.post(reverse("usage")).status_code == 405


# --- Cost -----------------------------------------------------------------------------------------------------


def test_the_page_costs_a_fixed_number_of_queries_whatever_the_history(
    client, admin_user, owner, teammate, history, django_assert_max_num_queries, django_user_model
):
    client.force_login(admin_user)
    # The user, the people to pick from, usage, failures, training jobs, the queue badge, the admins' quota alerts
    # badge; a LoRA breakdown also reads the viewer's Miaohua account (its own models' names) and the team's LoRAs.
    for breakdown, most in (("member", 7), ("model", 7), ("lora", 10)):
        with django_assert_max_num_queries(most):
            assert get(client, period="day", breakdown=breakdown).status_code == 200
    for index in range(12):  # more people, models, LoRAs, reasons and days
        person = django_user_model.objects.create_user(f"member{index}")
        task(person, f"2026-10-{index + 10}", model=f"Model {index}", lora=f"lora_{index}", n=index)
        task(person, f"2026-11-{index + 10}", state=State.FAILED, error=f"Reason {index}. Id {index}.")
        training(person, f"2026-09-{index + 10}", TrainingJob.State.RUNNING)
    # The user, the people to pick from, usage, failures, training jobs, the queue badge, the admins' quota alerts
    # badge; a LoRA breakdown also reads the viewer's Miaohua account (its own models' names) and the team's LoRAs.
    for breakdown, most in (("member", 7), ("model", 7), ("lora", 10)):
        with django_assert_max_num_queries(most):
            assert get(client, period="day", breakdown=breakdown).status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(reverse("usage_export"), {**RANGE, "breakdown": "member"}).status_code == 200


def test_days_and_weeks_follow_summer_time_to_the_hour(client, admin_user, owner, settings):
    settings.TIME_ZONE = "Europe/Paris"  # summer time (UTC+2) ends on 2026-10-25 at 01:00 UTC (then UTC+1)
    task(owner, "2026-10-24", hour=22, n=1)  # midnight starting the 25th in Paris (UTC+2)
    task(owner, "2026-10-25", hour=22, n=2)  # 23:00 on the 25th (UTC+1): with the summer offset it would be the 26th
    task(owner, "2026-10-25", hour=23, n=4)  # 00:00 on the 26th, a Monday: a new week
    task(owner, "2026-10-18", hour=21, n=8)  # 23:00 on Sunday the 18th: the week of Monday the 12th
    client.force_login(admin_user)
    days = table(get(client, **{"from": "2026-10-24", "to": "2026-10-26"}, period="day"), "usage-periods")
    assert [(row[0], row[2]) for row in days[1:-1]] == [("2026-10-24", "0"), ("2026-10-25", "3"), ("2026-10-26", "4")]
    weeks = table(get(client, **{"from": "2026-10-12", "to": "2026-10-26"}, period="week"), "usage-periods")
    assert [(row[0], row[2]) for row in weeks[1:-1]] == [("2026-10-12", "8"), ("2026-10-19", "3"), ("2026-10-26", "4")]
