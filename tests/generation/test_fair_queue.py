"""Fair sharing of one Miaohua account: its members' queued tasks go out in turn (every member's oldest, then
every member's second oldest, …) through the account's submission window, so one member's 300 queued tasks
do not hold back another member's single task; each member sees their own place in line, nothing of others'."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from generation import selectors as queue_selectors
from generation import services
from generation.models import GenerationTask
from generation.services.submit import TEAM_ACCOUNT_REFUSED, SubmitSource, generation_send
from generation.templatetags.studio import in_line
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator.services.accounts import account_create
from miaohua_site.workers import engine
from team.models import Membership

State = GenerationTask.State
PARAMS = {
    "versionid": "sgl_artist_v0.3.5_0925",
    "prompt": "a lighthouse",
    "n_images": 1,
    "scale": 7,
    "ddim_steps": 20,
    "select_seed": 42,
    "output_size": "512x512",
}


@pytest.fixture
def member_a(django_user_model):
    user = django_user_model.objects.create_user("member-a", "a@example.com", "a-pass-123")
    Membership.objects.create(user=user, uses_team_account=True)
    return user


@pytest.fixture
def member_b(django_user_model):
    user = django_user_model.objects.create_user("member-b", "b@example.com", "b-pass-123")
    Membership.objects.create(user=user, uses_team_account=True)
    return user


def queue(owner, account, count, *, prompt="a's secret prompt", start=None):
    """``count`` queued tasks of ``owner`` on ``account``, one a millisecond from ``start``."""
    start = start or timezone.now() - timedelta(minutes=5)
    return GenerationTask.objects.bulk_create(
        GenerationTask(
            owner=owner,
            upstream_account=account,
            params={**PARAMS, "prompt": prompt},
            prompt=prompt,
            created_at=start + timedelta(milliseconds=i),
        )
        for i in range(count)
    )


def planned(source, now=0.0) -> list[int]:
    return [work.key[1] for work in source.collect(now)]


# --- The order they go out in --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_single_task_behind_300_of_another_member_is_among_the_first_planned(member_a, member_b, team_account):
    queue(member_a, team_account, 300)
    (single,) = queue(member_b, team_account, 1, prompt="b's one task", start=timezone.now())

    first = planned(SubmitSource())

    assert single.pk in first
    assert len(first) == SubmitSource.PER_ACCOUNT  # only a few are planned at a time: the window decides the pace


@pytest.mark.django_db
def test_it_reads_the_queue_in_one_query_however_long(member_a, member_b, team_account, django_assert_num_queries):
    queue(member_a, team_account, 300)
    queue(member_b, team_account, 40)
    source = SubmitSource()
    with django_assert_num_queries(1):
        source.collect(0.0)


@pytest.mark.django_db
def test_members_go_in_turn_as_tasks_are_sent(member_a, member_b, team_account):
    a_tasks = queue(member_a, team_account, 5)
    b_tasks = queue(member_b, team_account, 2, start=timezone.now())
    source = SubmitSource()
    sent = []
    for _ in range(7):  # the engine's rhythm: plan, one is sent, plan again
        work = source.collect(0.0)
        first = work[0]
        GenerationTask.objects.filter(pk=first.key[1]).update(state=State.PENDING)
        first.done("pending")
        for other in work[1:]:
            other.done("not yet")  # given back: planned again at the next look
        sent.append(first.key[1])

    a, b = [t.pk for t in a_tasks], [t.pk for t in b_tasks]
    assert sent == [a[0], b[0], a[1], b[1], a[2], a[3], a[4]]


@pytest.mark.django_db
def test_members_on_different_accounts_are_planned_independently(member_a, member_b, django_user_model):
    own_a = upstream_account_store(user=member_a, email="a-own@example.com", password="x")
    own_b = upstream_account_store(user=member_b, email="b-own@example.com", password="y")
    queue(member_a, own_a, 300)
    (single,) = queue(member_b, own_b, 1, start=timezone.now())

    work = SubmitSource().collect(0.0)

    windows = {item.key[1]: item.limiter.name for item in work}
    assert windows[single.pk] == f"account:{own_b.pk}:submit"
    assert {name for pk, name in windows.items() if pk != single.pk} == {f"account:{own_a.pk}:submit"}
    assert queue_selectors.queue_position(single) == 1


@pytest.mark.django_db
def test_a_task_waiting_for_a_retry_is_not_planned_before_its_time(member_a, team_account):
    (task,) = queue(member_a, team_account, 1)
    GenerationTask.objects.filter(pk=task.pk).update(retry_at=timezone.now() + timedelta(seconds=30))
    source = SubmitSource()
    assert planned(source) == []
    assert source.busy  # still something to do later


@pytest.mark.django_db(transaction=True)
def test_b_is_sent_within_seconds_while_a_has_300_queued(member_a, member_b, team_account, simulator_url, settings):
    """The real submit lane against the simulator, through the account's window (6 a second)."""
    settings.GENERATION_MIRROR_IMAGES = False
    account_create(email="team@example.com", password="team-pass")
    queue(member_a, team_account, 300)
    (single,) = queue(member_b, team_account, 1, start=timezone.now())
    run = engine.Engine([SubmitSource()], inline=True)

    run.run(stop=threading.Event(), budget=2.0)

    single.refresh_from_db()
    assert single.state == State.PENDING, single.error_message
    sent = GenerationTask.objects.filter(submitted_at__isnull=False).order_by("submitted_at")
    assert list(sent.values_list("pk", flat=True)).index(single.pk) < 3
    assert sent.count() <= 2 * settings.MIAOHUA_SUBMITS_PER_SECOND + 1  # the window held: about 6 a second
    assert GenerationTask.objects.filter(owner=member_a, state=State.QUEUED).count() >= 280


# --- The team account all the way ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_task_sent_with_the_team_account_is_polled_and_stored_with_it(
    member_a, team_account, simulator_url, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.2
    account_create(email="team@example.com", password="team-pass")

    task = services.generation_submit(user=member_a, params=PARAMS, idempotency_key=uuid.uuid4())

    task.refresh_from_db()
    assert task.state == State.DONE, task.error_message
    assert task.upstream_account_id == team_account.pk
    assert all(image.file for image in task.images.all()) and task.images.exists()


@pytest.mark.django_db
def test_a_member_unticked_meanwhile_gets_a_plain_failure_not_a_send(member_a, team_account, engine_held):
    (task,) = queue(member_a, team_account, 1)
    Membership.objects.filter(user=member_a).update(uses_team_account=False)  # e.g. through Django admin

    assert generation_send(task_id=task.pk) == "failed"

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.error_message == TEAM_ACCOUNT_REFUSED


@pytest.mark.django_db
def test_a_member_who_connected_their_own_meanwhile_sends_with_their_own(member_a, team_account, engine_held):
    (task,) = queue(member_a, team_account, 1)
    Membership.objects.filter(user=member_a).update(uses_team_account=False)
    own = upstream_account_store(user=member_a, email="nowhere@example.com", password="x")

    generation_send(task_id=task.pk)  # the vendor is not reachable here: what matters is the account chosen

    task.refresh_from_db()
    assert task.upstream_account_id == own.pk
    assert task.error_message != TEAM_ACCOUNT_REFUSED


# --- Queue positions ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_positions_count_the_turns(member_a, member_b, team_account, django_user_model):
    a1, a2, a3 = queue(member_a, team_account, 3)
    b1, b2 = queue(member_b, team_account, 2, start=timezone.now())

    positions = {t.pk: queue_selectors.queue_position(t) for t in (a1, a2, a3, b1, b2)}

    assert positions == {a1.pk: 1, b1.pk: 2, a2.pk: 3, b2.pk: 4, a3.pk: 5}


@pytest.mark.django_db
def test_positions_agree_with_the_order_tasks_are_planned_in(member_a, member_b, team_account, django_user_model):
    member_c = django_user_model.objects.create_user("member-c", "c@example.com", "c")
    Membership.objects.create(user=member_c, uses_team_account=True)
    start = timezone.now() - timedelta(minutes=1)
    tasks = [*queue(member_a, team_account, 6, start=start), *queue(member_b, team_account, 2, start=start)]
    tasks += queue(member_c, team_account, 3, start=start + timedelta(seconds=1))
    from generation.services.submit import queue_turns

    order = [pk for pk, *_ in queue_turns(depth=100)]

    by_pk = {t.pk: t for t in tasks}
    assert [queue_selectors.queue_position(by_pk[pk]) for pk in order] == list(range(1, len(tasks) + 1))


@pytest.mark.django_db
def test_a_position_costs_one_query(member_a, member_b, team_account, django_assert_num_queries):
    queue(member_a, team_account, 300)
    (single,) = queue(member_b, team_account, 1, start=timezone.now())
    with django_assert_num_queries(1):
        assert queue_selectors.queue_position(single) == 2


@pytest.mark.django_db
def test_a_task_on_its_way_has_no_position(member_a, team_account):
    (task,) = queue(member_a, team_account, 1)
    task.state = State.PENDING
    assert queue_selectors.queue_position(task) is None


def test_positions_read_as_people_say_them():
    assert [in_line(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "next", "2nd in line", "3rd in line", "4th in line", "11th in line", "12th in line", "13th in line",
        "21st in line", "22nd in line", "101st in line",
    ]  # fmt: skip


@pytest.mark.django_db
def test_my_card_shows_my_place_and_nothing_of_the_others(client, member_a, member_b, team_account):
    queue(member_a, team_account, 5, prompt="a's secret prompt")
    (mine,) = queue(member_b, team_account, 1, prompt="b's own prompt", start=timezone.now())
    client.force_login(member_b)

    card = client.get(reverse("task_card", args=[mine.pk])).content.decode()

    assert "2nd in line" in card
    assert "a's secret prompt" not in card.replace("&#x27;", "'") and "member-a" not in card


@pytest.mark.django_db
def test_a_teammate_sees_no_position_on_my_shared_card(client, member_a, member_b, team_account):
    queue(member_a, team_account, 2)
    (mine,) = queue(member_b, team_account, 1, start=timezone.now())
    client.force_login(member_a)

    card = client.get(reverse("task_card", args=[mine.pk])).content.decode()

    assert "in line" not in card and "next" not in card.split("task-prompt")[0]


@pytest.mark.django_db
def test_the_queue_badge_says_where_my_next_task_stands(client, member_a, member_b, team_account):
    queue(member_a, team_account, 4)
    queue(member_b, team_account, 2, start=timezone.now())
    client.force_login(member_b)

    badge = client.get(reverse("queue_badge")).content.decode()

    assert "2nd in line" in badge and "your next task is 2nd in line" in badge
    assert "My queue: 2 running" in badge


@pytest.mark.django_db
def test_the_generate_page_shows_my_queued_tasks_places(client, member_a, member_b, team_account):
    queue(member_a, team_account, 1)
    queue(member_b, team_account, 1, start=timezone.now())
    client.force_login(member_a)

    page = client.get(reverse("generate")).content.decode()

    assert "· next" in page
