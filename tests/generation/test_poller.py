"""The poller: one sweep per account under a lease, ≤ 50 ids per task_results call, ≤ 6 calls in any second
(counted in the database), back-off on 429 and 5xx, timeouts, and recovery by the minute schedule.

Tasks are sent to the simulator with the real client; the calls it received are counted with its stats."""

import itertools
import math
import time
import uuid
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_q.models import Schedule

from generation import services
from generation.leases import Lease
from generation.models import GenerationTask, WorkerLease
from generation.ratelimit import RateLimiter
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import client_for_account, upstream_account_store
from miaohua_site.simulator import catalog, faults, stats
from miaohua_site.simulator.models import SimAccount, SimApiCall, SimRateHit
from miaohua_site.simulator.services import generation as sim_generation
from miaohua_site.simulator.services.accounts import account_expire_tokens
from miaohua_site.simulator.validation import task_submit_params
from tests.generation.test_submit import txt2img

State = GenerationTask.State
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account(owner, simulator_url, settings):
    settings.GENERATION_MIRROR_IMAGES = False  # test_mirroring downloads; here only states and calls count
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.2
    return upstream_account_store(user=owner, email="demo@example.com", password="demo")


def in_flight(account, n: int, *, settings, task_seconds: float = 0.3, prompt: str = "a kite") -> list[int]:
    """``n`` tasks the simulator accepted (finishing ``task_seconds`` later), recorded by us as pending.

    They are handed to the simulator's own task_submit in-process (quicker than n HTTP calls; the vendor's
    behaviour is the same), so the calls the simulator counts are only the poller's."""
    catalog.ensure_seeded()
    vendor_account = SimAccount.objects.get(email="demo@example.com")
    settings.MIAOHUA_SIMULATOR_TASK_SECONDS = task_seconds
    now = timezone.now()
    rows = []
    for i in range(n):
        params = txt2img(prompt=f"{prompt} #{i}")
        vendor_task = sim_generation.task_submit(
            account=vendor_account, params=task_submit_params(vendor_account, params)
        )
        rows.append(
            GenerationTask(
                owner=account.user,
                upstream_account=account,
                idempotency_key=uuid.uuid4(),
                params=params,
                params_sent=params,
                state=State.PENDING,
                upstream_task_id=str(vendor_task.id),
                claimed_at=now,
                submit_attempted_at=now,
                submitted_at=now,
            )
        )
    settings.MIAOHUA_SIMULATOR_TASK_SECONDS = 0.3
    return [task.pk for task in GenerationTask.objects.bulk_create(rows)]


def logged_in(account) -> str:
    """Log the account in (as its first poll would) and return the token the vendor gave."""
    with client_for_account(account) as client:
        return client.get_token()


def killed_worker_lease(account) -> WorkerLease:
    """The account's sweep lease, held by a worker that was killed a while ago (so it has lapsed)."""
    lapsed = timezone.now() - timedelta(seconds=1)
    return WorkerLease.objects.create(name=services.poll_lease_name(account.pk), holder="killed", expires_at=lapsed)


def states(pks) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in GenerationTask.objects.filter(pk__in=pks).values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def busiest_second(endpoint: str = "task_results") -> int:
    """The most calls the simulator received in any one-second window."""
    times = [call.at.timestamp() for call in stats.history(endpoint)]
    return max((sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times)), default=0)


# --- Batching and the rate limit -------------------------------------------------------------------------


def test_it_asks_for_at_most_fifty_tasks_per_call(account, settings):
    pks = in_flight(account, 120, settings=settings)
    logged_in(account)
    time.sleep(0.35)  # all finished at the vendor
    SimApiCall.objects.all().delete()

    report = services.generation_poll(account_id=account.pk)

    assert states(pks) == {"done": 120}
    assert report.calls_per_sweep == [3]  # ⌈120 / 50⌉
    assert [call.n_ids for call in stats.history("task_results")] == [50, 50, 20]
    assert stats.calls() == 3  # and nothing else


def test_every_sweep_makes_one_call_per_fifty_tasks_in_flight(account, settings):
    pks = in_flight(account, 60, settings=settings, task_seconds=1.2)
    SimApiCall.objects.all().delete()

    report = services.generation_poll(account_id=account.pk)

    assert states(pks) == {"done": 60}
    assert report.sweeps >= 2
    assert report.in_flight_per_sweep[0] == 60 and report.calls_per_sweep[0] == 2
    assert report.calls_per_sweep == [math.ceil(n / 50) for n in report.in_flight_per_sweep]
    assert stats.calls("task_results") == sum(report.calls_per_sweep)


def test_it_never_calls_task_results_more_than_six_times_in_a_second(account, settings):
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0  # sweep back to back: only the limiter holds the pace
    # The first call logs in slowly: a limiter counting call starts would let 7 arrive in one second.
    settings.MIAOHUA_SIMULATOR_FAULTS = "slow_seconds=0.4,endpoints=get_token"
    in_flight(account, 100, settings=settings, task_seconds=60)
    SimApiCall.objects.all().delete()

    report = services.generation_poll(account_id=account.pk, budget_seconds=3.0)

    assert report.stopped == "time budget spent"
    assert stats.calls("task_results", status=429) == 0
    assert busiest_second() <= 6
    assert report.calls == stats.calls("task_results") >= 15  # it did go as fast as allowed


def test_the_limit_is_shared_by_every_worker(db):
    """Two limiters for one account (as in two processes) share the database row and its window."""
    now = [1000.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    first = RateLimiter("task_results:1", calls=6, per=1.0, clock=lambda: now[0], sleep=sleep)
    second = RateLimiter("task_results:1", calls=6, per=1.0, clock=lambda: now[0], sleep=sleep)
    starts = []
    for limiter in itertools.islice(itertools.cycle([first, second]), 13):
        limiter.acquire()
        starts.append(now[0])
        now[0] += 0.01

    assert max(sum(1 for t in starts if start <= t < start + 1.0) for start in starts) == 6
    assert starts[6] >= starts[0] + 1.0 and starts[12] >= starts[6] + 1.0


def test_a_limiter_gives_up_at_its_deadline(db):
    now = [0.0]
    limiter = RateLimiter("x", calls=1, per=1.0, clock=lambda: now[0], sleep=lambda s: None)
    assert limiter.acquire() == 0.0
    assert limiter.acquire(deadline=0.5) is None


def test_a_call_counts_from_its_answer(db):
    """The vendor counts a call when it arrives, somewhere between our start and its answer."""
    now = [100.0]

    def sleep(seconds):
        now[0] += seconds

    limiter = RateLimiter("y", calls=2, per=1.0, clock=lambda: now[0], sleep=sleep)
    slow = limiter.acquire()
    now[0] += 0.5  # a slow answer (or a login before the call)
    limiter.finished(slow)
    limiter.acquire()

    assert limiter.acquire() == 101.5  # a second after the slow call's answer, not its start


# --- Results ---------------------------------------------------------------------------------------------


def test_it_records_finished_tasks_with_their_images_and_seed(account, settings):
    [pk] = in_flight(account, 1, settings=settings)

    services.generation_poll(account_id=account.pk)

    task = GenerationTask.objects.get(pk=pk)
    assert task.state == State.DONE
    assert task.select_seed == 42
    assert task.finished_at and task.last_polled_at and task.poll_attempts >= 1
    image = task.images.get()
    assert image.save_index == 0 and image.seed == 42
    assert "large" in image.upstream_large_url and "middle" in image.upstream_middle_url


def test_it_keeps_the_wait_time_while_a_task_is_pending(account, settings):
    [pk] = in_flight(account, 1, settings=settings, task_seconds=30)

    services.generation_poll(account_id=account.pk, budget_seconds=0.1)

    task = GenerationTask.objects.get(pk=pk)
    assert task.state == State.PENDING
    assert 25 <= task.wait_time <= 30
    assert task.poll_attempts == 1


def test_a_task_miaohua_fails_is_failed_with_its_message(account, settings):
    [pk] = in_flight(account, 1, settings=settings, prompt="simfail kite")

    services.generation_poll(account_id=account.pk)

    task = GenerationTask.objects.get(pk=pk)
    assert task.state == State.FAILED
    assert task.error_message.startswith("Miaohua could not generate the images:")
    assert "simulated failure" in task.error_message
    assert task.images.count() == 0


def test_a_task_miaohua_never_finishes_times_out(account, settings):
    settings.GENERATION_TIMEOUT_SECONDS = 1
    [pk] = in_flight(account, 1, settings=settings, task_seconds=60)

    started = time.monotonic()
    report = services.generation_poll(account_id=account.pk)

    assert time.monotonic() - started < 5
    assert report.stopped == "nothing in flight"
    task = GenerationTask.objects.get(pk=pk)
    assert task.state == State.FAILED
    assert task.error_message.startswith("timed out upstream")


def test_it_backs_off_when_miaohua_says_too_many_requests(account, settings):
    pks = in_flight(account, 3, settings=settings)
    token = logged_in(account)
    # Someone else used this token's six calls a moment ago.
    SimRateHit.objects.bulk_create(
        [SimRateHit(token_key=token, endpoint="task_results", at=timezone.now()) for _ in range(6)]
    )
    SimApiCall.objects.all().delete()

    report = services.generation_poll(account_id=account.pk)

    assert states(pks) == {"done": 3}
    assert report.backoffs == 1
    refused, answered = stats.history("task_results")[:2]
    assert (refused.status, answered.status) == (429, 200)
    assert (answered.at - refused.at).total_seconds() >= 1.0  # backed off, not hammering


def test_it_backs_off_when_miaohua_fails(account, settings, monkeypatch):
    pks = in_flight(account, 3, settings=settings)
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=0.5,error_status=503,endpoints=task_results"
    rolls = itertools.chain([0.0, 0.0, 0.0, 0.0], itertools.repeat(0.99))  # two 503s, then all well
    monkeypatch.setattr(faults, "roll", lambda: next(rolls))
    SimApiCall.objects.all().delete()

    report = services.generation_poll(account_id=account.pk)

    assert states(pks) == {"done": 3}
    assert report.backoffs == 2
    calls = stats.history("task_results")
    assert [call.status for call in calls[:3]] == [503, 503, 200]
    assert (calls[1].at - calls[0].at).total_seconds() >= 1.0
    assert (calls[2].at - calls[1].at).total_seconds() >= 2.0  # doubling


def test_it_logs_in_again_when_the_token_expires_mid_poll(account, settings, monkeypatch):
    pks = in_flight(account, 2, settings=settings, task_seconds=0.6)
    old_token = logged_in(account)
    record = services._record_results
    expired = []

    def record_then_expire(*args, **kwargs):
        outcome = record(*args, **kwargs)
        if not expired:
            expired.append(account_expire_tokens(email="demo@example.com"))
        return outcome

    monkeypatch.setattr(services, "_record_results", record_then_expire)
    SimApiCall.objects.all().delete()

    services.generation_poll(account_id=account.pk)

    assert expired == [1]
    assert states(pks) == {"done": 2}
    assert stats.calls("task_results", status=401) == 1
    assert stats.calls("get_token") == 1
    assert UpstreamAccount.objects.get(pk=account.pk).token != old_token  # the new token was saved


def test_a_sweep_survives_a_passing_database_error(account, settings, monkeypatch):
    [pk] = in_flight(account, 1, settings=settings)
    fail_timed_out = services._fail_timed_out
    hiccups = [OperationalError("database is locked")]

    def once_locked(tasks):
        if hiccups:
            raise hiccups.pop()
        return fail_timed_out(tasks)

    monkeypatch.setattr(services, "_fail_timed_out", once_locked)

    report = services.generation_poll(account_id=account.pk)

    assert report.stopped == "nothing in flight"
    assert GenerationTask.objects.get(pk=pk).state == State.DONE


# --- One sweep per account, and recovery -----------------------------------------------------------------


def test_only_one_sweep_runs_per_account(account, settings):
    in_flight(account, 1, settings=settings)
    other_worker = Lease(services.poll_lease_name(account.pk), seconds=30)
    assert other_worker.acquire()
    SimApiCall.objects.all().delete()

    report = services.generation_poll(account_id=account.pk)

    assert report.busy
    assert stats.calls() == 0


def test_a_dead_workers_lease_lapses_and_is_taken_over(account, settings):
    [pk] = in_flight(account, 1, settings=settings)
    killed_worker_lease(account)

    report = services.generation_poll(account_id=account.pk)

    assert not report.busy
    assert GenerationTask.objects.get(pk=pk).state == State.DONE
    lease = WorkerLease.objects.get()
    assert lease.holder == "" and lease.expires_at <= timezone.now()  # released when done


def test_the_minute_schedule_restarts_a_sweep_whose_lease_lapsed(account, settings):
    pks = in_flight(account, 2, settings=settings)
    killed_worker_lease(account)
    time.sleep(0.35)

    counts = services.generation_recover()

    assert counts["sweeps"] == 1
    assert states(pks) == {"done": 2}


def test_the_schedule_leaves_a_live_sweep_alone(account, settings):
    in_flight(account, 1, settings=settings)
    Lease(services.poll_lease_name(account.pk), seconds=30).acquire()

    assert services.generation_recover()["sweeps"] == 0


def test_pending_tasks_of_a_disconnected_account_fail(owner):
    task = GenerationTask.objects.create(owner=owner, state=State.PENDING, upstream_task_id="gone")

    services.generation_recover()

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.error_message == services.DISCONNECTED


def test_a_sweep_with_nothing_in_flight_returns_at_once(account):
    started = time.monotonic()
    report = services.generation_poll(account_id=account.pk)
    assert report.stopped == "nothing in flight"
    assert report.calls == 0
    assert time.monotonic() - started < 0.5


def test_the_schedule_is_created_once(db):
    services.ensure_schedules()
    services.ensure_schedules()

    schedule = Schedule.objects.get(name=services.RECOVER_SCHEDULE)
    assert schedule.func == "generation.tasks.generation_recover_job"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)
