"""End to end with a real django-q2 worker process (`manage.py qcluster`), as in production: the dashboard
enqueues, the worker submits, polls and stores images; a worker killed mid-poll loses nothing and sends
nothing twice. The simulator answers on Django's live server; the worker shares the test database."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django_q.conf import Conf
from django_q.tasks import async_task

from generation.models import GenerationTask
from miaohua_site.accounts.services import upstream_account_store
from miaohua_site.simulator import stats

ROOT = Path(__file__).resolve().parents[2]
State = GenerationTask.State
pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`manage.py qcluster` in its own process group, pointed at the test database and the simulator."""

    def __init__(self, env):
        self.env = env
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self):
        """As a crash would: no chance to finish anything."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker(live_server, settings, monkeypatch, tmp_path):
    monkeypatch.setattr(Conf, "SYNC", False)  # the dashboard only enqueues; the worker process does the work
    settings.MIAOHUA_API_BASE = live_server.url + "/simulator/api/v1b/"
    # One cache for the dashboard and the worker, as in production: the worker writes the catalogs pages read.
    cache = {"BACKEND": "miaohua_site.cache.FileBasedCache", "LOCATION": str(tmp_path / "cache")}
    settings.CACHES = {"default": cache, "sessions": {**cache, "LOCATION": str(tmp_path / "cache" / "sessions")}}
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "miaohua_site.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "CREDENTIALS_KEY": settings.CREDENTIALS_KEY,
        "ALLOWED_HOSTS": "*",
        "DATABASE_URL": database_url(),
        "MIAOHUA_API_BASE": settings.MIAOHUA_API_BASE,
        "MIAOHUA_SIMULATOR": "0",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CACHE_DIR": str(tmp_path / "cache"),
        "Q_WORKERS": "2",
        "GENERATION_POLL_INTERVAL_SECONDS": "0.2",
        "GENERATION_POLL_LEASE_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }
    process = Worker(env)
    process.start()
    yield process
    process.stop()


def wait_for(condition, timeout=40.0, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def submit(user, prompt):
    from generation import services

    return services.generation_submit(
        user=user,
        idempotency_key=uuid.uuid4(),
        model_name="Artist v0.3.5",
        params={
            "versionid": "sgl_artist_v0.3.5_0925",
            "prompt": prompt,
            "n_images": 1,
            "scale": 7,
            "ddim_steps": 20,
            "select_seed": 5,
            "output_size": "640x640",
            "strength": 0.6,
        },
    )


def test_a_task_from_the_form_is_finished_by_the_worker(worker, client, owner):
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    client.force_login(owner)
    page = client.get(reverse("generate"))  # a cold cache: placeholders, and the worker fetches the catalogs
    assert "Loading the model list from Miaohua" in page.content.decode()
    for picker in ("models", "loras", "sizes", "controlnets"):
        url = reverse("generate_picker", args=[picker])
        assert wait_for(lambda url=url: client.get(url).status_code == 286), picker
    response = client.post(
        reverse("generate"),
        {
            "idempotency_key": str(uuid.uuid4()),
            "versionid": "sgl_artist_v0.3.5_0925",
            "prompt": "a kite over dunes",
            "n_images": "2",
            "scale": "7",
            "ddim_steps": "20",
            "select_seed": "-1",
            "output_size": "640x640",
            "mode": "txt2img",
            "strength": "0.6",
            "lora_weight": "0.8",
            "sensitive_limit_value": "0",
        },
    )
    assert response.status_code == 302
    task = GenerationTask.objects.get(owner=owner)
    assert task.state == State.QUEUED  # nothing happened in the web request

    assert wait_for(lambda: GenerationTask.objects.filter(pk=task.pk, state=State.DONE).exists()), (
        GenerationTask.objects.get(pk=task.pk).state
    )
    assert wait_for(lambda: all(image.thumbnail for image in task.images.all()) and task.images.count() == 2)
    assert stats.calls("task_submit") == 1


def test_a_worker_killed_mid_poll_loses_nothing_and_sends_nothing_twice(worker, owner, settings):
    settings.MIAOHUA_SIMULATOR_TASK_SECONDS = 4  # long enough to kill the worker while it polls
    upstream_account_store(user=owner, email="demo@example.com", password="demo")
    tasks = [submit(owner, f"a lantern number {n}") for n in range(3)]

    assert wait_for(lambda: GenerationTask.objects.filter(state=State.PENDING).count() == 3, timeout=30)
    worker.kill()
    assert GenerationTask.objects.filter(state=State.DONE).count() == 0

    worker.start()
    async_task("generation.tasks.generation_recover_job")  # what the one-minute schedule runs

    assert wait_for(lambda: GenerationTask.objects.filter(state=State.DONE).count() == 3, timeout=60), list(
        GenerationTask.objects.values_list("state", flat=True)
    )
    assert stats.calls("task_submit") == len(tasks)  # each sent exactly once
