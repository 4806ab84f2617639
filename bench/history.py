#!/usr/bin/env python3
"""Benchmark of the history pages at 100,000 or 1,000,000 tasks (3 images each), on SQLite and on PostgreSQL.

    .venv/bin/python bench/history.py                                # both databases, 100,000 tasks
    .venv/bin/python bench/history.py --tasks 1000000 --runs 30
    .venv/bin/python bench/history.py --db sqlite --tasks 20000
    .venv/bin/python bench/history.py --db postgresql --pg-db bench_history_scale --workdir /tmp/h --keep

For each database it builds a throw-away installation (a temporary SQLite file, or a fresh PostgreSQL database,
`bench_history` unless `--pg-db` names another, on 127.0.0.1), migrates, seeds with `manage.py seed_history`
(anyone can run that command): the member `bench` and a sharing teammate (5 % of the tasks), 1.5 % of the tasks
in the trash, 8 collections of the member (the largest with 300 images) and 3 of the teammate (2 shared), a fifth
of the tasks tagged (1 to 3 of 20 tags, skewed) and two saved searches by tag (the member's, the teammate's shared).
Then it measures, as the member, the server time — Django's full request handling through the test client, in
process, no network — and the number of SQL queries of: the history page, its next-page fragment (htmx, keyset
cursor), full-text searches (common words, and one found nowhere), a filtered page, the team gallery, pages
filtered by one and two tags and by a rare tag in the search box, opening a saved search (the redirect and its
page: two requests counted together), the
collections list, the largest collection, its next-page fragment, the trash's first page (48 tasks) and its
next-page fragment; and, for comparison, the Django admin's change list of the same table (as an admin, fewer
runs: it counts the whole table).
Goals: median ≤ 30 ms for the history pages and fragments at 100,000 tasks, ≤ 60 ms for collections and the
trash at 1,000,000 on SQLite, ≤ 100 ms for a search.

`--workdir DIR --keep` keeps the installation (the SQLite file in DIR, or the PostgreSQL database); a later run
with the same `--workdir`/`--pg-db` and `--skip-seed` migrates it (new migrations only) and measures again."""

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

from common import PG_SERVER, pg_admin

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
ADMIN_RUNS = 5
SEED = ["--teammate", "bench-mate", "--teammate-share", "0.05", "--trashed", "0.015", "--collections", "8"]
SEED_TAGS = ["--tags", "0.2"]  # a fifth of the tasks tagged, 1 to 3 tags each; two saved searches


def _cursor(page: str) -> str:
    found = re.search(r"cursor=([A-Za-z0-9_-]+)", page)
    assert found, "no next page"
    return found.group(1)


def measure(runs: int) -> None:
    """Runs inside the benchmark installation (django configured from the environment)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from library.models import Collection, SavedSearch

    users = get_user_model().objects
    member = users.get(username="bench")
    admin, _ = users.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
    client, admin_client = Client(), Client()
    client.force_login(member)
    admin_client.force_login(admin)

    largest = Collection.objects.get(owner=member, name="Board 1")  # seed_history: the largest of the member's
    board = f"/collections/{largest.pk}/"
    history_cursor = _cursor(client.get("/history/").content.decode())
    board_cursor = _cursor(client.get(board).content.decode())
    trash_cursor = _cursor(client.get("/trash/").content.decode())
    # seed_history --tags: "Portraits" (the member's, tag=portrait) and the teammate's shared "Team landscapes"
    # (an installation seeded before --tags has neither: those two cases are left out)
    portraits = SavedSearch.objects.filter(owner=member, name="Portraits").first()
    landscapes = SavedSearch.objects.filter(name="Team landscapes").first()
    htmx = {"HTTP_HX_REQUEST": "true"}
    saved = []  # opening a saved search: the redirect and the page it opens, counted together
    if portraits:
        saved.append(("saved search opened (history)", client, f"/searches/{portraits.pk}/", {"follow": True}))
    if landscapes:
        saved.append(("teammate's saved search (gallery)", client, f"/searches/{landscapes.pk}/", {"follow": True}))
    cases = [
        ("history page (30 tasks)", client, "/history/", {}),
        ("next-page fragment", client, f"/history/?cursor={history_cursor}", htmx),
        ("search 'lighthouse dusk'", client, "/history/?q=lighthouse+dusk", {}),
        ("search 'dragon' + model filter", client, "/history/?q=dragon&model=sdxl_1.0", {}),
        ("search 'zebra' (no match)", client, "/history/?q=zebra", {}),
        ("filtered: favourites, img2img", client, "/history/?fav=1&kind=img2img", {}),
        ("team gallery", client, "/gallery/", {}),
        ("tag 'portrait'", client, "/history/?tag=portrait", {}),
        ("tags 'portrait' + 'night' (both)", client, "/history/?tag=portrait&tag=night", {}),
        ("search 'tag:test dragon' (rare tag)", client, "/history/?q=tag:test+dragon", {}),
        *saved,
        ("collections list", client, "/collections/", {}),
        (f"a collection ({largest.items.count()} items)", client, board, {}),
        ("its next-page fragment", client, f"{board}?cursor={board_cursor}", htmx),
        ("trash (first page, 48 tasks)", client, "/trash/", {}),
        ("trash next-page fragment", client, f"/trash/?cursor={trash_cursor}", htmx),
        ("Django admin change list", admin_client, "/admin/generation/generationtask/", {}),
        ("Django admin search 'lighthouse'", admin_client, "/admin/generation/generationtask/?q=lighthouse", {}),
    ]
    print(f"{'case':40} {'median ms':>10} {'p95 ms':>8} {'min ms':>8} {'queries':>8}")
    for name, who, url, headers in cases:
        timings = []
        who.get(url, **headers)  # warm-up (and the filter menus' cache)
        for _ in range(ADMIN_RUNS if who is admin_client else runs):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = who.get(url, **headers)
                timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"{name:40} {statistics.median(timings):10.1f} {p95:8.1f} {timings[0]:8.1f} {len(queries):8}", flush=True)


def run_for(db: str, args) -> None:
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="miaohua-bench-history-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-history-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "*",
        "STATIC_MANIFEST": "0",
        "CREDENTIALS_KEY": "7kCX3yurBAbjTbEzDrgikGLg04TqOYz3SbgdjAiOf0U=",
        "MEDIA_ROOT": str(work / "media"),
        "CACHE_DIR": str(work / "cache"),
        "DJANGO_SETTINGS_MODULE": "miaohua_site.settings",
        "SECURE_COOKIES": "0",
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
            seed = [PY, "manage.py", "seed_history", "--tasks", str(args.tasks), *SEED, *SEED_TAGS]
            subprocess.run(seed, cwd=ROOT, env=env, check=True)
        if db == "postgresql":
            subprocess.run(
                [PY, "-c", f"import psycopg; psycopg.connect({pg_url!r}, autocommit=True).execute('ANALYZE')"],
                check=True,
            )
        took = time.perf_counter() - started
        print(f"\n== {db}: {args.tasks:,} tasks, {args.tasks * 3:,} images (migrated and seeded in {took:.0f} s)")
        subprocess.run([PY, __file__, "--measure", "--runs", str(args.runs)], cwd=ROOT, env=env, check=True)
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
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg-db", default="bench_history", help="the PostgreSQL database to create (and drop)")
    parser.add_argument("--workdir", default="", help="the installation's folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the installation (SQLite file, PostgreSQL db)")
    parser.add_argument("--skip-seed", action="store_true", help="measure an installation kept by an earlier run")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(ROOT))
        measure(args.runs)
        return
    if args.pg_db in ("postgres", "test", "template0", "template1"):
        parser.error(f"--pg-db {args.pg_db}: that database is not the benchmark's to drop")
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores")
    for db in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        run_for(db, args)


if __name__ == "__main__":
    main()
