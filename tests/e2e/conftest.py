"""Real django-q2 worker processes (`manage.py qcluster`) pointed at the test database and at the simulator on
Django's live server, for the end-to-end tests. The engine runs in their worker processes, as in production."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django_q.conf import Conf

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`manage.py qcluster` in its own process group."""

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
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_env(settings, tmp_path, **extra) -> dict:
    """The environment of a worker process: production settings, the test database, the simulator."""
    return {
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
        "GENERATION_POLL_INTERVAL_SECONDS": "0.2",
        "WORKERS_ENGINE_LEASE_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def shared_caches(tmp_path, prefix: str) -> dict:
    """The caches of production settings (Redis when REDIS_URL is set, else files), under one key prefix: what
    the worker processes will use too, so they write the catalogs the dashboard's pages read."""
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
        return {
            "default": {**backend, "KEY_PREFIX": prefix},
            "sessions": {**backend, "KEY_PREFIX": f"{prefix}session"},
        }
    files = {"BACKEND": "miaohua_site.cache.FileBasedCache", "KEY_PREFIX": prefix}
    return {
        "default": {**files, "LOCATION": str(tmp_path / "cache")},
        "sessions": {**files, "LOCATION": str(tmp_path / "cache" / "sessions")},
    }


@pytest.fixture
def workers(live_server, settings, monkeypatch, tmp_path):
    """Start worker processes with ``workers(**env)``; all are stopped at the end of the test."""
    monkeypatch.setattr(Conf, "SYNC", False)  # the dashboard only stores; the worker processes do the work
    settings.MIAOHUA_API_BASE = live_server.url + "/simulator/api/v1b/"
    settings.MIAOHUA_IMAGE_HOSTS = ["127.0.0.1", "localhost"]
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    settings.CACHES = shared_caches(tmp_path, prefix)
    started = []

    def start(**extra) -> Worker:
        process = Worker(worker_env(settings, tmp_path, CACHE_KEY_PREFIX=prefix, **extra))
        process.start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def worker(workers):
    """One worker process with the default worker count."""
    return workers()


def wait_for(condition, timeout=40.0, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False
