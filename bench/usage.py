#!/usr/bin/env python3
"""Benchmark of the usage page (/team/usage/) and its CSV at 100,000 tasks, on SQLite and on PostgreSQL.

    .venv/bin/python bench/usage.py                                  # both databases, 100,000 tasks
    .venv/bin/python bench/usage.py --db sqlite --tasks 1000000 --runs 10
    .venv/bin/python bench/usage.py --db postgresql --pg-db h_usage --workdir /tmp/u --keep

For each database it builds a throw-away installation (a temporary SQLite file, or a fresh PostgreSQL database,
`bench_usage` unless `--pg-db` names another, on 127.0.0.1), migrates and seeds with `manage.py seed_history`:
done tasks of 3 images spread over the past year, 4 models, 3 LoRAs in half of them. Then it gives the history a
team: the tasks are shared out between 10 members (`bench` and `bench-mate` among them), one in 25 failed (three
reasons, each message ending with the task's id, as real ones do), and 300 training jobs over the year.

It measures the server time — Django's full request handling through the test client, in process, no network —
and the SQL queries of: the admin's page over the default range (the last 30 days, per day, by member), over the
last year (per day, week and month; by member, model and LoRA), one member's year as an admin picks it, the
year's CSV; and a member's own page (default range and year). Then the same default and year pages over HTTP, on
gunicorn (one worker, as a browser gets them after signing in through the form: bench/common.py).
Goal: median ≤ 300 ms for the admin's page over a year at 100,000 tasks.

`--workdir DIR --keep` keeps the installation; a later run with the same `--workdir`/`--pg-db` and `--skip-seed`
migrates it (new migrations only) and measures again."""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PG_SERVER, free_port, login, pg_admin, wait_for  # noqa: E402

PY = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
MEMBERS = 10
ADMIN, ADMIN_PASSWORD = "bench-admin", "bench-admin-usage-1"
REASONS = [
    "Miaohua could not generate the images: the prompt was refused. Task {}.",
    "timed out upstream: Miaohua did not finish the task within 15 minutes.",
    "Miaohua refused the task (code 124): the account's balance is too low. Request {}.",
]


def team_up() -> None:
    """Runs inside the installation: share the seeded tasks out between members, fail some, add trainings."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from generation.models import GenerationTask
    from training.models import TrainingJob

    users = get_user_model().objects
    admin, _ = users.get_or_create(username=ADMIN, defaults={"is_staff": True, "is_superuser": True})
    admin.set_password(ADMIN_PASSWORD)
    admin.save()
    bench = users.get(username="bench")
    bench.set_password(ADMIN_PASSWORD)
    bench.save()
    members = [bench, users.get(username="bench-mate")]
    members += [users.get_or_create(username=f"bench-member-{n}")[0] for n in range(len(members), MEMBERS)]
    table = connection.ops.quote_name(GenerationTask._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        for n, member in enumerate(members[2:], start=2):  # bench and bench-mate keep a share of their own
            cursor.execute(f"UPDATE {table} SET owner_id = %s WHERE id %% {MEMBERS} = %s", [member.pk, n])
        for n, reason in enumerate(REASONS):
            head, _, tail = reason.partition("{}")
            message = "%s || CAST(id AS VARCHAR(20)) || %s" if tail else "%s"
            values = [head, tail] if tail else [reason]
            cursor.execute(
                f"UPDATE {table} SET state = 'failed', error_message = {message} WHERE id %% 75 = %s", [*values, n * 25]
            )
        now = timezone.now()
        TrainingJob.objects.bulk_create(
            TrainingJob(
                owner=members[n % len(members)],
                name=f"lora {n}",
                base_model="Artist v0.3.5",
                main_body="cat",
                trigger_word=f"cat{n}",
                state=[TrainingJob.State.DONE, TrainingJob.State.FAILED, TrainingJob.State.RUNNING][n % 3],
                created_at=now - timedelta(days=n * 365 / 300),
            )
            for n in range(300)
        )
    print(f"team: {len(members)} members, 1 in 25 tasks failed, 300 training jobs")


def measure(runs: int) -> None:
    """Runs inside the installation (django configured from the environment)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    users = get_user_model().objects
    admin, member = users.get(username=ADMIN), users.get(username="bench")
    admin_client, member_client = Client(), Client()
    admin_client.force_login(admin)
    member_client.force_login(member)
    today = timezone.localdate()
    year = f"from={today - timedelta(days=364)}&to={today}"
    cases = [
        ("admin: last 30 days, per day, by member", admin_client, "/team/usage/"),
        ("admin: a year per day, by member", admin_client, f"/team/usage/?{year}&period=day&breakdown=member"),
        ("admin: a year per week, by member", admin_client, f"/team/usage/?{year}&period=week&breakdown=member"),
        ("admin: a year per month, by model", admin_client, f"/team/usage/?{year}&period=month&breakdown=model"),
        ("admin: a year per week, by LoRA", admin_client, f"/team/usage/?{year}&period=week&breakdown=lora"),
        ("admin: one member's year per week", admin_client, f"/team/usage/?{year}&period=week&member={member.pk}"),
        ("admin: the year's CSV per day, by member", admin_client, f"/team/usage/export.csv?{year}&period=day"),
        ("member: own last 30 days", member_client, "/team/usage/"),
        ("member: own year per week", member_client, f"/team/usage/?{year}&period=week"),
    ]
    print(f"{'case (in process)':42} {'median ms':>10} {'p95 ms':>8} {'min ms':>8} {'queries':>8}")
    for name, who, url in cases:
        timings = []
        who.get(url)  # warm-up
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = who.get(url)
                timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"{name:42} {statistics.median(timings):10.1f} {p95:8.1f} {timings[0]:8.1f} {len(queries):8}", flush=True)


def over_http(env: dict, runs: int, work: Path) -> None:
    """The default and the year's page as a browser gets them from gunicorn (one worker), signed in by the form."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(work / "gunicorn.log", "w")
    server = subprocess.Popen(
        [GUNICORN, "-w", "1", "-b", f"127.0.0.1:{port}", "miaohua_site.wsgi"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        wait_for(base + "/accounts/login/")
        session = login(base, ADMIN, ADMIN_PASSWORD)
        from datetime import date

        today = date.today()
        year = f"from={today - timedelta(days=364)}&to={today}"
        print(f"{'case (over HTTP, gunicorn)':42} {'median ms':>10} {'p95 ms':>8} {'min ms':>8}")
        for name, url in (
            ("admin: last 30 days", "/team/usage/"),
            ("admin: a year per week", f"/team/usage/?{year}&period=week"),
        ):
            session.get(base + url).raise_for_status()
            timings = []
            for _ in range(runs):
                start = time.perf_counter()
                session.get(base + url).raise_for_status()
                timings.append((time.perf_counter() - start) * 1000)
            timings.sort()
            p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
            print(f"{name:42} {statistics.median(timings):10.1f} {p95:8.1f} {timings[0]:8.1f}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def run_for(db: str, args) -> None:
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="miaohua-bench-usage-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-usage-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "*",
        "STATIC_MANIFEST": "0",
        "CREDENTIALS_KEY": "7kCX3yurBAbjTbEzDrgikGLg04TqOYz3SbgdjAiOf0U=",
        "MEDIA_ROOT": str(work / "media"),
        "CACHE_DIR": str(work / "cache"),
        "DJANGO_SETTINGS_MODULE": "miaohua_site.settings",
        "SECURE_COOKIES": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    shutil.rmtree(work / "cache", ignore_errors=True)
    pg_url = f"{PG_SERVER}/{args.pg_db}"
    if db == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    else:
        env["DATABASE_URL"] = pg_url
        if not args.skip_seed:
            pg_admin(f'DROP DATABASE IF EXISTS "{args.pg_db}"', f'CREATE DATABASE "{args.pg_db}"')
    try:
        started = time.perf_counter()
        subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        if not args.skip_seed:
            seed = [PY, "manage.py", "seed_history", "--tasks", str(args.tasks), "--teammate", "bench-mate"]
            subprocess.run([*seed, "--teammate-share", "0.1"], cwd=ROOT, env=env, check=True)
            subprocess.run([PY, __file__, "--team-up"], cwd=ROOT, env=env, check=True)
        if db == "postgresql":
            subprocess.run(
                [PY, "-c", f"import psycopg; psycopg.connect({pg_url!r}, autocommit=True).execute('ANALYZE')"],
                check=True,
            )
        took = time.perf_counter() - started
        print(f"\n== {db}: {args.tasks:,} tasks (migrated and seeded in {took:.0f} s)")
        subprocess.run([PY, __file__, "--measure", "--runs", str(args.runs)], cwd=ROOT, env=env, check=True)
        over_http(env, args.runs, work)
    finally:
        if args.keep:
            print(f"kept: {env['DATABASE_URL']} (media in {work})")
        else:
            shutil.rmtree(work, ignore_errors=True)
            if db == "postgresql":
                pg_admin(f'DROP DATABASE IF EXISTS "{args.pg_db}"')



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg-db", default="bench_usage", help="the PostgreSQL database to create (and drop)")
    parser.add_argument("--workdir", default="", help="the installation's folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the installation (SQLite file, PostgreSQL db)")
    parser.add_argument("--skip-seed", action="store_true", help="measure an installation kept by an earlier run")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--team-up", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure or args.team_up:
        sys.path.insert(0, str(ROOT))
        team_up() if args.team_up else measure(args.runs)
        return
    if args.pg_db in ("postgres", "test", "template0", "template1"):
        parser.error(f"--pg-db {args.pg_db}: that database is not the benchmark's to drop")
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores")
    for db in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        run_for(db, args)


if __name__ == "__main__":
    main()
