#!/usr/bin/env python3
"""Benchmark of the history pages at 100,000 tasks / 300,000 images, on SQLite and on PostgreSQL.

    .venv/bin/python bench/history.py                       # both databases, 100,000 tasks
    .venv/bin/python bench/history.py --db sqlite --tasks 20000

For each database it builds a throw-away installation (a temporary SQLite file, or a fresh PostgreSQL database
`bench_history` on 127.0.0.1), migrates, seeds with `manage.py seed_history` (anyone can run that command),
then measures the server time — Django's full request handling through the test client, in process, no
network — of: the history page, its next-page fragment (htmx, keyset cursor), a full-text search, a filtered
page, the team gallery, and, for comparison, the Django admin's change list of the same table.
Goals: median ≤ 30 ms for pages and fragments, ≤ 100 ms for a search."""

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgres://postgres@127.0.0.1:5432/bench_history"


def measure(runs: int) -> None:
    """Runs inside the benchmark installation (django configured from the environment)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.get(username="bench")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)

    first = client.get("/history/").content.decode()
    cursor = re.search(r"cursor=([A-Za-z0-9_-]+)", first).group(1)
    cases = [
        ("history page (30 tasks)", "/history/", {}),
        ("next-page fragment", f"/history/?cursor={cursor}", {"HTTP_HX_REQUEST": "true"}),
        ("search 'lighthouse dusk'", "/history/?q=lighthouse+dusk", {}),
        ("search 'dragon' + model filter", "/history/?q=dragon&model=sdxl_1.0", {}),
        ("filtered: favourites, img2img", "/history/?fav=1&kind=img2img", {}),
        ("team gallery", "/gallery/", {}),
        ("Django admin change list", "/admin/generation/generationtask/", {}),
        ("Django admin search 'lighthouse'", "/admin/generation/generationtask/?q=lighthouse", {}),
    ]
    print(f"{'case':40} {'median ms':>10} {'p95 ms':>8} {'min ms':>8}")
    for name, url, headers in cases:
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get(url, **headers)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"{name:40} {statistics.median(timings):10.1f} {p95:8.1f} {timings[0]:8.1f}", flush=True)


def run_for(db: str, tasks: int, runs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="miaohua-bench-history-"))
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench",
        "ALLOWED_HOSTS": "*",
        "STATIC_MANIFEST": "0",
        "CREDENTIALS_KEY": "7kCX3yurBAbjTbEzDrgikGLg04TqOYz3SbgdjAiOf0U=",
        "MEDIA_ROOT": str(work / "media"),
        "CACHE_DIR": str(work / "cache"),
        "DJANGO_SETTINGS_MODULE": "miaohua_site.settings",
        "SECURE_COOKIES": "0",
    }
    env.pop("REDIS_URL", None)
    if db == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    else:
        subprocess.run(
            [
                PY,
                "-c",
                f"import psycopg; c = psycopg.connect({PG_ADMIN!r}, autocommit=True); "
                "c.execute('DROP DATABASE IF EXISTS bench_history'); c.execute('CREATE DATABASE bench_history')",
            ],
            check=True,
        )
        env["DATABASE_URL"] = PG_BENCH
    try:
        started = time.perf_counter()
        subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([PY, "manage.py", "seed_history", "--tasks", str(tasks)], cwd=ROOT, env=env, check=True)
        if db == "postgresql":
            subprocess.run(
                [PY, "-c", f"import psycopg; psycopg.connect({PG_BENCH!r}, autocommit=True).execute('ANALYZE')"],
                check=True,
            )
        print(f"\n== {db}: {tasks:,} tasks, {tasks * 3:,} images (seeded in {time.perf_counter() - started:.0f} s)")
        subprocess.run([PY, __file__, "--measure", "--runs", str(runs)], cwd=ROOT, env=env, check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(ROOT))
        measure(args.runs)
        return
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores")
    for db in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        run_for(db, args.tasks, args.runs)


if __name__ == "__main__":
    main()
