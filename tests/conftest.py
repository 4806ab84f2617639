"""Shared fixtures: the simulator reached over real HTTP, and the owner / teammate / outsider / admin users."""

import os
import uuid

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + sync Playwright

SIMULATOR_PATH = "/simulator/api/v1b/"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Each test starts with a cache of its own (catalogs, their refresh locks, sessions): nothing an earlier test
    cached, or left locked, answers for this one. A new key prefix, never ``clear()``: that would empty a Redis
    shared with others."""
    run = uuid.uuid4().hex[:8]
    settings.CACHES = {
        alias: {**config, "KEY_PREFIX": f"{config.get('KEY_PREFIX', '')}-{run}"}
        for alias, config in settings.CACHES.items()
    }


@pytest.fixture(autouse=True)
def english_to_start_with():
    """Each test starts speaking English, whatever language an earlier test's request or sign-in left active in
    this thread (Django activates a language per request and leaves it): a test's own words decide."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def simulator_url(live_server, settings):
    """The simulator's base URL on Django's live server; the dashboard is pointed at it."""
    base = live_server.url + SIMULATOR_PATH
    settings.MIAOHUA_API_BASE = base
    settings.MIAOHUA_IMAGE_HOSTS = ["127.0.0.1", "localhost"]
    return base


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("owner", "owner@example.com", "owner-pass-123")


@pytest.fixture
def teammate(django_user_model):
    return django_user_model.objects.create_user("teammate", "teammate@example.com", "teammate-pass-123")


@pytest.fixture
def outsider(django_user_model):
    return django_user_model.objects.create_user("outsider", "outsider@example.com", "outsider-pass-123")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_user("admin", "admin@example.com", "admin-pass-123", is_staff=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }


@pytest.fixture
def engine_held(monkeypatch):
    """Stored work waits (in sync mode the engine would run as soon as a task is stored): a test plays the
    worker step by step, or calls ``engine_held()`` to run the engine until nothing is left."""
    from miaohua_site.workers import engine

    monkeypatch.setattr(engine, "wake", lambda: None)
    return engine.run_until_idle


class JobQueue:
    """django-q2's queue in the test database, as a worker would see it; ``run()`` plays the worker."""

    def jobs(self, func: str | None = None) -> list[dict]:
        from django_q.models import OrmQ

        tasks = [row.task for row in OrmQ.objects.order_by("id")]
        return [task for task in tasks if func is None or task.get("func") == func]

    def run(self) -> int:
        from django.utils.module_loading import import_string
        from django_q.models import OrmQ

        ran = 0
        for row in list(OrmQ.objects.order_by("id")):
            task = row.task
            row.delete()
            import_string(task["func"])(*task["args"], **task["kwargs"])
            ran += 1
        return ran


@pytest.fixture
def queued_jobs(monkeypatch):
    """django-q2 as in production: jobs wait in the queue (the ORM broker of the test database, even on a Redis
    run) until the test plays the worker with ``queued_jobs.run()``; the page under test only enqueues."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")
    return JobQueue()


@pytest.fixture
def viewer(django_user_model):
    """A read-only member: sees the team gallery, cannot generate."""
    from team.models import Membership, Role

    user = django_user_model.objects.create_user("viewer", "viewer@example.com", "viewer-pass-123")
    Membership.objects.create(user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def team_account(db):
    """The team's Miaohua account (the simulator's demo credentials; no vendor call made to store it)."""
    from miaohua_site.accounts.models import UpstreamAccount

    account = UpstreamAccount(is_team=True, email="team@example.com")
    account.password = "team-pass"
    account.save()
    return account
