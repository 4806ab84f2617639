"""The core loop at team scale, with real worker processes on the default worker count: several members' accounts
are polled side by side, each within its own 6 calls a second; two clusters share one engine and one rate window;
a card whose images arrive late keeps polling until they are there."""

import subprocess
import sys
import time

import pytest
from django.urls import reverse

from generation.models import GeneratedImage, GenerationTask
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator import stats
from miaohua_site.simulator.models import SimApiCall
from miaohua_site.simulator.services.accounts import account_create
from miaohua_site.workers.models import Lease
from tests.e2e.conftest import ROOT, wait_for, worker_env
from tests.generation.test_poller import in_flight

State = GenerationTask.State
pytestmark = pytest.mark.django_db(transaction=True)


def team(django_user_model, n: int):
    """``n`` members, each connected to a Miaohua account of their own."""
    accounts = []
    for i in range(n):
        email = f"member{i}@example.com"
        account_create(email=email, password="member")
        user = django_user_model.objects.create_user(f"member{i}", password="member-pass-123")
        accounts.append(upstream_account_store(user=user, email=email, password="member"))
    return accounts


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times)), default=0)


def calls_of(email: str) -> list[float]:
    return [c.at.timestamp() for c in stats.history("task_results") if c.account_email == email]


def test_every_members_account_is_polled_at_once_on_the_default_workers(workers, django_user_model, settings):
    accounts = team(django_user_model, 6)
    for account in accounts:
        in_flight(account, 60, settings=settings, task_seconds=6, email=account.email)
    SimApiCall.objects.all().delete()

    started = time.time()
    workers()  # one qcluster, its default worker count

    assert wait_for(lambda: not GenerationTask.objects.filter(state=State.PENDING).exists(), timeout=40)
    assert GenerationTask.objects.filter(state=State.DONE).count() == 6 * 60
    firsts = [min(calls_of(account.email)) for account in accounts]
    assert max(firsts) - min(firsts) < 2.0  # no account waited for another's sweeps to end
    for account in accounts:
        assert busiest_second(calls_of(account.email)) <= 6
    assert stats.calls("task_results", code=429) == 0
    # Each done within a couple of seconds of the vendor finishing it (6 s after the start, plus start-up).
    assert time.time() - started < 25


def test_two_clusters_run_one_engine_and_the_other_takes_over_when_it_dies(workers, owner, settings):
    account = upstream_account_store(user=owner, email="demo@example.com", password="demo")
    in_flight(account, 300, settings=settings, task_seconds=14)
    SimApiCall.objects.all().delete()
    fast = {"GENERATION_POLL_INTERVAL_SECONDS": "0"}  # sweep back to back: only the shared window holds the pace

    first = workers(**fast)
    assert wait_for(lambda: stats.calls("task_results") >= 6, timeout=20)
    holder = Lease.objects.get(name="workers-engine").holder
    workers(**fast)  # a second cluster: its engines stand by
    time.sleep(3)
    assert Lease.objects.get(name="workers-engine").holder == holder  # still the first cluster's engine

    first.kill()
    killed_at = time.time()
    assert wait_for(lambda: Lease.objects.get(name="workers-engine").holder != holder, timeout=15)
    assert wait_for(lambda: max(calls_of("demo@example.com")) > killed_at, timeout=15)  # polling goes on
    assert time.time() - killed_at < 10  # within the lease (2 s here) and a standby's look

    assert wait_for(lambda: not GenerationTask.objects.filter(state=State.PENDING).exists(), timeout=30)
    assert busiest_second(calls_of("demo@example.com")) <= 6
    assert stats.calls("task_results", code=429) == 0


LIMITER_LOOP = """
import sys, time, django
django.setup()
from miaohua_site.workers.ratelimit import RateLimiter
limiter = RateLimiter("account:4242", calls=6, per=1.0)
start = float(sys.argv[2])
time.sleep(max(start - time.time(), 0))  # both begin together, however long each took to start
until = start + float(sys.argv[1])
while time.time() < until:
    slot = limiter.acquire(deadline=until)
    if slot is None:
        break
    time.sleep(0.01)  # the call
    slot.answered()
    limiter.finished(slot)
    print(slot.started, flush=True)
"""


def test_two_processes_share_one_rate_window(settings, tmp_path):
    env = worker_env(settings, tmp_path)
    command = [sys.executable, "-c", LIMITER_LOOP, "4", str(time.time() + 8)]
    procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]

    starts = [[float(line) for line in output.split()] for output in outputs]
    assert all(len(each) >= 6 for each in starts), [len(each) for each in starts]  # both got calls in
    assert busiest_second([t for each in starts for t in each]) <= 6  # together, never more than 6 in a second


def test_a_card_whose_images_arrive_late_keeps_polling_until_they_are_stored(workers, client, owner, settings):
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    settings.MIAOHUA_SIMULATOR_FAULTS = "slow_seconds=3,endpoints=files"  # the vendor's pictures come slowly
    from tests.e2e.test_real_worker import submit

    task = submit(owner, "a kite, slowly")
    client.force_login(owner)
    workers()

    assert wait_for(lambda: GenerationTask.objects.filter(pk=task.pk, state=State.DONE).exists(), timeout=30)
    card = client.get(reverse("task_card", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert card.status_code == 200 and 'hx-trigger="every 2s' in card.content.decode()  # done, still polling
    assert "Storing the image" in card.content.decode()

    assert wait_for(lambda: not GeneratedImage.objects.filter(task=task).exclude(mirror_state="stored").exists())
    final = client.get(reverse("task_card", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert final.status_code == 286 and "hx-trigger" not in final.content.decode()
    image = GeneratedImage.objects.get(task=task)
    assert reverse("image_file", args=[image.pk, "thumb"]) in final.content.decode()
