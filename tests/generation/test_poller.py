"""The poller, as the engine runs it: a sweep per account, ≤ 50 ids per task_results call, ≤ 6 calls in any
second (counted in the database), several accounts at once, back-off on 429 and 5xx, timeouts.

Tasks are sent to the simulator with the real client; the calls it received are counted with its stats. The
engine runs inline here (django-q2's sync mode); tests/e2e/ runs it in real worker processes."""

import itertools
import math
import time
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generation.models import GenerationTask
from generation.services import poller, recovery
from miaohua_site.accounts.models import UpstreamAccount
from miaohua_site.accounts.services import client_for_account, upstream_account_store
from miaohua_site.simulator import catalog, faults, stats
from miaohua_site.simulator.models import SimAccount, SimApiCall, SimRateHit
from miaohua_site.simulator.services import generation as sim_generation
from miaohua_site.simulator.services.accounts import account_create, account_expire_tokens
from miaohua_site.simulator.validation import task_submit_params
from miaohua_site.workers import engine
from miaohua_site.workers.ratelimit import RateLimiter, Slot
from tests.generation.test_submit import txt2img

State = GenerationTask.State
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account(owner, simulator_url, settings):
    settings.GENERATION_MIRROR_IMAGES = False  # test_mirroring downloads; here only states and calls count
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0.2
    return upstream_account_store(user=owner, email="demo@example.com", password="demo")


def in_flight(
    account, n: int, *, settings, task_seconds: float = 0.3, prompt: str = "a kite", email: str = "demo@example.com"
) -> list[int]:
    """``n`` tasks the simulator accepted (finishing ``task_seconds`` later), recorded by us as pending.

    They are handed to the simulator's own task_submit in-process (quicker than n HTTP calls; the vendor's
    behaviour is the same), so the calls the simulator counts are only the poller's."""
    catalog.ensure_seeded()
    vendor_account = SimAccount.objects.get(email=email)
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


def poll(*, budget: float | None = None) -> tuple[list[poller.Sweep], engine.Report]:
    """Run the engine until nothing is in flight (or the budget is spent): the sweeps it made, and its report."""
    report = engine.run_until_idle(budget=budget)
    return report.sources["generation-poll"].sweeps, report


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

    sweeps, _ = poll()

    assert states(pks) == {"done": 120}
    assert [(sweep.in_flight, sweep.calls) for sweep in sweeps] == [(120, 3)]  # ⌈120 / 50⌉
    assert [call.n_ids for call in stats.history("task_results")] == [50, 50, 20]
    assert stats.calls() == 3  # and nothing else


def test_every_sweep_makes_one_call_per_fifty_tasks_in_flight(account, settings):
    pks = in_flight(account, 60, settings=settings, task_seconds=1.2)
    SimApiCall.objects.all().delete()

    sweeps, _ = poll()

    assert states(pks) == {"done": 60}
    assert len(sweeps) >= 2
    assert (sweeps[0].in_flight, sweeps[0].calls) == (60, 2)
    assert [sweep.calls for sweep in sweeps] == [math.ceil(sweep.in_flight / 50) for sweep in sweeps]
    assert stats.calls("task_results") == sum(sweep.calls for sweep in sweeps)


def test_it_never_calls_task_results_more_than_six_times_in_a_second(account, settings):
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0  # sweep back to back: only the limiter holds the pace
    # The first call logs in slowly: a limiter counting call starts would let 7 arrive in one second.
    settings.MIAOHUA_SIMULATOR_FAULTS = "slow_seconds=0.4,endpoints=get_token"
    in_flight(account, 100, settings=settings, task_seconds=60)
    SimApiCall.objects.all().delete()

    sweeps, report = poll(budget=3.0)

    assert report.stopped == "time budget spent"
    assert stats.calls("task_results", code=429) == 0
    assert busiest_second() == 6  # as fast as allowed, never faster
    assert sum(sweep.calls for sweep in sweeps) <= stats.calls("task_results")
    assert stats.calls("task_results") >= 12  # a full window in each of the seconds after the slow login


def test_several_accounts_are_swept_side_by_side_each_within_its_own_limit(account, django_user_model, settings):
    settings.GENERATION_POLL_INTERVAL_SECONDS = 0
    others = []
    for n in range(2):
        user = django_user_model.objects.create_user(f"member{n}", password="member-pass-123")
        email = f"member{n}@example.com"
        account_create(email=email, password="member")
        others.append(upstream_account_store(user=user, email=email, password="member"))
    for member in [account, *others]:
        in_flight(member, 60, settings=settings, task_seconds=60, email=member.email)
    SimApiCall.objects.all().delete()

    sweeps, _ = poll(budget=2.5)

    swept = {sweep.account_id for sweep in sweeps}
    assert swept == {account.pk, *(other.pk for other in others)}  # none waited for another
    assert all(sweep.calls == 2 for sweep in sweeps)  # ⌈60 / 50⌉ each
    assert stats.calls("task_results", code=429) == 0
    for member in [account, *others]:
        times = [c.at.timestamp() for c in stats.history("task_results") if c.account_email == member.email]
        assert max(sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times)) <= 6


def test_the_limit_is_shared_by_every_worker(db):
    """Two limiters for one account (as in two processes) share the database row and its window."""
    now = [1000.0]

    def sleep(seconds):
        now[0] += seconds

    first = RateLimiter("account:1", calls=6, per=1.0, clock=lambda: now[0], sleep=sleep, jitter=0)
    second = RateLimiter("account:1", calls=6, per=1.0, clock=lambda: now[0], sleep=sleep, jitter=0)
    starts = []
    for limiter in itertools.islice(itertools.cycle([first, second]), 13):
        limiter.acquire()
        starts.append(now[0])
        now[0] += 0.01

    assert max(sum(1 for t in starts if start <= t < start + 1.0) for start in starts) == 6
    assert starts[6] >= starts[0] + 1.0 and starts[12] >= starts[6] + 1.0


def test_a_limiter_says_how_long_to_wait_instead_of_sleeping(db):
    now = [50.0]
    limiter = RateLimiter("w", calls=1, per=1.0, clock=lambda: now[0], sleep=lambda s: pytest.fail("it slept"))
    assert isinstance(limiter.try_acquire(), Slot)
    wait = limiter.try_acquire()
    assert wait == pytest.approx(1.0 + limiter.expected_latency)  # a second after the call's expected answer


def test_a_limiter_gives_up_at_its_deadline(db):
    now = [0.0]
    limiter = RateLimiter("x", calls=1, per=1.0, clock=lambda: now[0], sleep=lambda s: None, jitter=0)
    assert limiter.acquire().started == 0.0
    assert limiter.acquire(deadline=0.5) is None


def test_a_call_counts_from_its_answer(db):
    """The vendor counts a call when it arrives, somewhere between our start and its answer."""
    now = [100.0]

    def sleep(seconds):
        now[0] += seconds

    limiter = RateLimiter("y", calls=2, per=1.0, clock=lambda: now[0], sleep=sleep, jitter=0)
    slow = limiter.acquire()
    now[0] += 0.5  # a slow answer (or a login before the call)
    limiter.finished(slow)
    limiter.acquire()

    assert limiter.acquire().started == 101.5  # a second after the slow call's answer, not its start


def test_a_call_answered_in_time_costs_one_write(db):
    limiter = RateLimiter("z", calls=6, per=1.0)
    limiter.try_acquire()  # the row exists: what follows is the steady state
    with CaptureQueriesContext(connection) as queries:
        slot = limiter.try_acquire()
        slot.answered(slot.started + 0.01)
        limiter.finished(slot)
        limiter.succeeded()
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert len(writes) == 1


# --- Results ---------------------------------------------------------------------------------------------


def test_it_records_finished_tasks_with_their_images_and_seed(account, settings):
    [pk] = in_flight(account, 1, settings=settings)

    poll()

    task = GenerationTask.objects.get(pk=pk)
    assert task.state == State.DONE
    assert task.select_seed == 42
    assert task.finished_at and task.last_polled_at and task.poll_attempts >= 1
    image = task.images.get()
    assert image.save_index == 0 and image.seed == 42
    assert "large" in image.upstream_large_url and "middle" in image.upstream_middle_url


def test_it_keeps_the_wait_time_while_a_task_is_pending(account, settings):
    [pk] = in_flight(account, 1, settings=settings, task_seconds=30)

    poll(budget=0.1)

    task = GenerationTask.objects.get(pk=pk)
    assert task.state == State.PENDING
    assert 25 <= task.wait_time <= 30
    assert task.poll_attempts == 1


def test_a_task_miaohua_fails_is_failed_with_its_message(account, settings):
    [pk] = in_flight(account, 1, settings=settings, prompt="simfail kite")

    poll()

    task = GenerationTask.objects.get(pk=pk)
    assert task.state == State.FAILED
    assert task.error_message.startswith("Miaohua could not generate the images:")
    assert "simulated failure" in task.error_message
    assert task.images.count() == 0


def test_a_task_miaohua_never_finishes_times_out(account, settings):
    settings.GENERATION_TIMEOUT_SECONDS = 1
    [pk] = in_flight(account, 1, settings=settings, task_seconds=60)

    started = time.monotonic()
    _, report = poll()

    assert time.monotonic() - started < 5
    assert report.stopped == "idle"
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

    sweeps, _ = poll()

    assert states(pks) == {"done": 3}
    assert sum(sweep.backoffs for sweep in sweeps) == 1
    refused, answered = stats.history("task_results")[:2]
    assert (refused.code, answered.code) == (429, 0)  # the live shape: both HTTP 200
    assert (answered.at - refused.at).total_seconds() >= 1.0  # backed off, not hammering


def test_it_backs_off_when_miaohua_fails(account, settings, monkeypatch):
    pks = in_flight(account, 3, settings=settings)
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=0.5,error_status=503,endpoints=task_results"
    rolls = itertools.chain([0.0, 0.0, 0.0, 0.0], itertools.repeat(0.99))  # two 503s, then all well
    monkeypatch.setattr(faults, "roll", lambda: next(rolls))
    SimApiCall.objects.all().delete()

    sweeps, _ = poll()

    assert states(pks) == {"done": 3}
    assert sum(sweep.backoffs for sweep in sweeps) == 2
    calls = stats.history("task_results")
    assert [call.status for call in calls[:3]] == [503, 503, 200]
    assert (calls[1].at - calls[0].at).total_seconds() >= 1.0
    assert (calls[2].at - calls[1].at).total_seconds() >= 2.0  # doubling


def test_it_logs_in_again_when_the_token_expires_mid_poll(account, settings, monkeypatch):
    pks = in_flight(account, 2, settings=settings, task_seconds=0.6)
    old_token = logged_in(account)
    record = poller.record_results
    expired = []

    def record_then_expire(*args, **kwargs):
        outcome = record(*args, **kwargs)
        if not expired:
            expired.append(account_expire_tokens(email="demo@example.com"))
        return outcome

    monkeypatch.setattr(poller, "record_results", record_then_expire)
    SimApiCall.objects.all().delete()

    poll()

    assert expired == [1]
    assert states(pks) == {"done": 2}
    assert stats.calls("task_results", code=411) == 1
    assert stats.calls("get_token") == 1
    assert UpstreamAccount.objects.get(pk=account.pk).token != old_token  # the new token was saved


def test_it_stops_asking_for_a_while_when_the_credentials_are_refused(account, settings):
    in_flight(account, 2, settings=settings, task_seconds=30)
    UpstreamAccount.objects.filter(pk=account.pk).update(token_encrypted="")
    account = UpstreamAccount.objects.get(pk=account.pk)
    account.password = "no longer right"
    account.save()
    SimApiCall.objects.all().delete()

    poll(budget=1.5)

    assert stats.calls("get_token") == 1  # refused once; not again every sweep
    assert stats.calls("task_results") == 0


# --- Housekeeping ----------------------------------------------------------------------------------------


def test_pending_tasks_of_a_disconnected_account_fail(owner):
    task = GenerationTask.objects.create(owner=owner, state=State.PENDING, upstream_task_id="gone")

    recovery.generation_recover()

    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.error_message == recovery.DISCONNECTED


def test_with_nothing_in_flight_the_engine_is_done_at_once(account):
    started = time.monotonic()
    sweeps, report = poll()
    assert report.stopped == "idle" and sweeps == []
    assert stats.calls() == 0
    assert time.monotonic() - started < 0.5


def test_miaohuas_daily_download_limit_fails_the_tasks_with_what_it_is(account, settings):
    pks = in_flight(account, 2, settings=settings)
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_code=118,endpoints=task_results"

    poll(budget=5)

    assert states(pks) == {"failed": 2}  # at once, not after the 15-minute timeout
    message = GenerationTask.objects.get(pk=pks[0]).error_message
    assert "daily download limit" in message and "not your team quota" in message


def test_another_refusal_of_task_results_is_asked_again_after_a_pause(account, settings):
    pks = in_flight(account, 2, settings=settings)
    settings.MIAOHUA_SIMULATOR_FAULTS = "error_rate=1,error_code=124,endpoints=task_results"
    sweeps, _ = poll(budget=1.5)
    assert states(pks) == {"pending": 2}  # not failed for a refusal that may pass
    assert sum(sweep.backoffs for sweep in sweeps) >= 1

    settings.MIAOHUA_SIMULATOR_FAULTS = ""
    poll()
    assert states(pks) == {"done": 2}
