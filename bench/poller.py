#!/usr/bin/env python3
"""Benchmark of the core loop at team scale: K accounts with N tasks each in flight on the simulator, polled,
finished and downloaded by the engine on the default worker set-up, while members submit new tasks.

    .venv/bin/python bench/poller.py --accounts 10 --tasks 100 --steady 60          # SQLite, one qcluster
    .venv/bin/python bench/poller.py --accounts 50 --tasks 20 --steady 60
    .venv/bin/python bench/poller.py --accounts 10 --tasks 100 --steady 60 --db postgresql --clusters 2

It builds a throw-away installation in a temporary directory (its own SQLite file or PostgreSQL database, its own
media folder), starts the simulator as the vendor in a gunicorn of its own and `--clusters` django-q2 clusters
(`manage.py qcluster`, default worker count unless `--workers`), as separate processes. The engine runs in the
clusters' worker processes, as in production. It creates K members, each with a Miaohua account of their own,
puts N tasks per account in flight at the simulator (finishing evenly from `--first` to `--first + --spread`
seconds; with `--steady S` a new one replaces each that finishes, for S seconds), records them as pending (what
sending leaves behind), and — while they are in flight — has members submit new tasks through the real path
(`generation_submit`, as the Generate page does: the row is stored, the engine sends it).

The background tasks share one prompt and seed, so the simulator renders their picture once: the vendor's own
rendering is not ours to measure, while our downloads, thumbnails and writes are. New submissions have prompts
of their own. For the same reason the simulator keeps its state in a SQLite file of its own
(MIAOHUA_SIMULATOR_DATABASE_URL), so its writes (it records every call) do not queue with ours on SQLite's one
writer; `--shared-vendor-db` puts it in our database, as `dev.py start` does.

It reports, with the goals of issue #8:
- finish → done: from the simulator finishing a task (its ready_at) to our database showing done;
- calls per sweep against the tasks in flight at the sweep's start (⌈in flight / 50⌉), read from the workers' log;
- per account, the most task_results calls in any one-second window at the simulator, and any 429;
- the longest pause between two sweeps of an account (every account is polled, none waits for another);
- new submissions: queued → sent (accepted by the vendor), and done → all images stored;
- coordination writes: rows written to the lease and rate-window tables (counted by triggers) per vendor call.
"""

import argparse
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

from common import free_port, stop_processes, wait_for

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
BACKGROUND_PARAMS = {
    "versionid": "sgl_artist_v0.3.5_0925",
    "prompt": "benchmark lighthouse",
    "scale": 7,
    "ddim_steps": 20,
    "select_seed": 7,
    "output_size": "640x640",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def summary(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"median {statistics.median(values):.2f} s, p95 {percentile(values, 0.95):.2f} s, "
        f"max {max(values):.2f} s ({len(values)})"
    )


# --- The installation ---------------------------------------------------------------------------------------


def prepare(args, workdir: Path, sim_port: int) -> dict:
    """What every process of the run shares: one database, one media folder, one settings module."""
    workers = f', "workers": {args.workers}' if args.workers else ""
    (workdir / "bench_settings.py").write_text(
        textwrap.dedent(
            f"""
            from miaohua_site.settings import *  # noqa: F403
            from miaohua_site.settings import LOGGING, Q_CLUSTER

            GENERATION_MIRROR_IMAGES = {not args.no_mirror!r}
            MEDIA_ROOT = {str(workdir / "media")!r}
            Q_CLUSTER = {{**Q_CLUSTER, "save_limit": 10000{workers}}}
            LOGGING = {{
                **LOGGING,
                "formatters": {{"plain": {{"format": "%(created).3f %(process)d %(name)s: %(message)s"}}}},
                "root": {{"handlers": ["console"], "level": "WARNING"}},
                "loggers": {{
                    "generation.sweeps": {{"level": "INFO"}},
                    "miaohua_site.workers.engine": {{"level": "INFO"}},
                }},
            }}
            """
        )
    )
    env = {
        **os.environ,
        "DEBUG": "1",
        "SECRET_KEY": "bench-poller-secret",  # the simulator signs its links with it: every process alike
        "CACHE_DIR": str(workdir / "cache"),
        "MIAOHUA_API_BASE": f"http://127.0.0.1:{sim_port}/simulator/api/v1b/",
        "MIAOHUA_SIMULATOR": "1",  # mounted in the simulator's own gunicorn (the dashboard never serves here)
        "MIAOHUA_SIMULATOR_TASK_SECONDS": str(args.new_task_seconds),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }
    if args.db == "postgresql":
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.pg_db}"
        env["REDIS_URL"] = args.redis
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    if not args.shared_vendor_db:  # the vendor's state is not ours: its writes do not queue with ours
        env["MIAOHUA_SIMULATOR_DATABASE_URL"] = f"sqlite:///{workdir / 'simulator.sqlite3'}"
    return env


def pg_database(name: str, *, create: bool) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


WRITE_COUNTERS_SQLITE = [
    "CREATE TABLE bench_writes (tbl TEXT PRIMARY KEY, n INTEGER NOT NULL)",
    "INSERT INTO bench_writes VALUES ('lease', 0), ('window', 0)",
    *(
        f"CREATE TRIGGER bench_{tbl}_{op} AFTER {op} ON {table} BEGIN "
        f"UPDATE bench_writes SET n = n + 1 WHERE tbl = '{tbl}'; END"
        for tbl, table in (("lease", "workers_lease"), ("window", "workers_ratewindow"))
        for op in ("INSERT", "UPDATE")
    ),
]
WRITE_COUNTERS_POSTGRES = [
    "CREATE TABLE bench_writes (tbl text PRIMARY KEY, n bigint NOT NULL)",
    "INSERT INTO bench_writes VALUES ('lease', 0), ('window', 0)",
    "CREATE FUNCTION bench_count() RETURNS trigger AS $$ BEGIN "
    "UPDATE bench_writes SET n = n + 1 WHERE tbl = TG_ARGV[0]; RETURN NULL; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER bench_lease AFTER INSERT OR UPDATE ON workers_lease "
    "FOR EACH ROW EXECUTE FUNCTION bench_count('lease')",
    "CREATE TRIGGER bench_window AFTER INSERT OR UPDATE ON workers_ratewindow "
    "FOR EACH ROW EXECUTE FUNCTION bench_count('window')",
]


def count_coordination_writes() -> None:
    """Triggers that count every row written to the lease and rate-window tables, by any process."""
    from django.db import connection

    statements = WRITE_COUNTERS_POSTGRES if connection.vendor == "postgresql" else WRITE_COUNTERS_SQLITE
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def coordination_writes() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tbl, n FROM bench_writes")
        return dict(cursor.fetchall())


def run(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-poller-"))
    sim_port = free_port()
    env = prepare(args, workdir, sim_port)
    os.environ.update(env)
    sys.path[:0] = [str(workdir), str(ROOT)]
    procs: list[subprocess.Popen] = []
    logs = {
        name: open(workdir / f"{name}.log", "w")
        for name in ["simulator", *(f"worker{i}" for i in range(args.clusters))]
    }
    if args.db == "postgresql":
        pg_database(args.pg_db, create=True)
    try:
        migrate = [PY, ROOT / "manage.py", "migrate", "--noinput", "-v", "0"]
        subprocess.run(migrate, cwd=ROOT, env=env, check=True)
        if not args.shared_vendor_db:
            subprocess.run([*migrate, "--database", "simulator"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        count_coordination_writes()
        procs.append(
            subprocess.Popen(
                [GUNICORN, "miaohua_site.wsgi", "-b", f"127.0.0.1:{sim_port}", "-k", "gthread", "-w", "4",
                 "--threads", "4", "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=logs["simulator"], stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        wait_for(f"http://127.0.0.1:{sim_port}/simulator/api/v1b/get_generation_form")
        for i in range(args.clusters):
            procs.append(
                subprocess.Popen(
                    [PY, ROOT / "manage.py", "qcluster"],
                    cwd=ROOT, env=env, stdout=logs[f"worker{i}"], stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
        roots = {
            "simulator (the vendor)": procs[0].pid,
            **{f"qcluster {i + 1}": p.pid for i, p in enumerate(procs[1:])},
        }
        measured = measure(args, roots)
        for log in logs.values():
            log.flush()
        worker_log = "".join((workdir / f"worker{i}.log").read_text() for i in range(args.clusters))
        report(args, measured, worker_log)
    finally:
        stop_processes(procs, timeout=40)
        for log in logs.values():
            log.close()
        from django.db import connections

        connections.close_all()
        if args.db == "postgresql" and not args.keep:
            pg_database(args.pg_db, create=False)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system) used so far by each named process and all its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, used = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    totals = {}
    for name, root in roots.items():
        total = 0.0
        for pid in used:
            walk = pid
            while walk and walk != root:
                walk = parent.get(walk, 0)
            if walk == root:
                total += used[pid]
        totals[name] = total
    return totals


# --- The run ------------------------------------------------------------------------------------------------


def members(k: int):
    """K members, each connected to a Miaohua account of their own (simulator accounts made here)."""
    from django.contrib.auth import get_user_model

    from miaohua_site.accounts.services import upstream_account_store
    from miaohua_site.simulator import catalog
    from miaohua_site.simulator.services.accounts import account_create

    catalog.ensure_seeded()
    accounts = []
    for i in range(k):
        email = f"member{i}@example.com"
        account_create(email=email, password="bench", max_running_tasks=100_000, credits=10**9)
        user = get_user_model().objects.create_user(f"member{i}", password="bench-pass-123")
        accounts.append(upstream_account_store(user=user, email=email, password="bench"))
    return accounts


def put_in_flight(account, durations: list[float], *, images: int) -> list[int]:
    """Tasks the simulator accepted for ``account``, each finishing after its duration, and our pending rows
    for them (what sending leaves behind). Handed to the simulator's own task_submit in this process (its state
    lives in the shared database), so the simulator counts only the engine's calls."""
    from django.conf import settings
    from django.utils import timezone

    from generation.models import GenerationTask
    from miaohua_site.simulator.models import SimAccount
    from miaohua_site.simulator.services import generation as sim_generation
    from miaohua_site.simulator.validation import task_submit_params

    vendor_account = SimAccount.objects.get(email=account.email)
    params = {**BACKGROUND_PARAMS, "n_images": images}
    rows, now = [], timezone.now()
    for duration in durations:
        settings.MIAOHUA_SIMULATOR_TASK_SECONDS = duration
        vendor_task = sim_generation.task_submit(
            account=vendor_account, params=task_submit_params(vendor_account, params)
        )
        rows.append(
            GenerationTask(
                owner_id=account.user_id, upstream_account=account, idempotency_key=uuid.uuid4(), params=params,
                params_sent=params, prompt=params["prompt"], versionid=params["versionid"], n_images=images,
                output_size=params["output_size"], state=GenerationTask.State.PENDING,
                upstream_task_id=str(vendor_task.id), claimed_at=now, submit_attempted_at=now, submitted_at=now,
            )
        )  # fmt: skip
    return [task.pk for task in GenerationTask.objects.bulk_create(rows)]


def submit_while_busy(accounts, until: float, every: float, made: list[int], stop: threading.Event) -> None:
    """Members submit new tasks the way the Generate page does, round the team, one every ``every`` seconds."""
    from django.db import connection

    from generation.services import generation_submit

    number = 0
    try:
        while time.time() < until and not stop.is_set():
            account = accounts[number % len(accounts)]
            params = {**BACKGROUND_PARAMS, "prompt": f"a new kite #{number}", "select_seed": number, "n_images": 2}
            task = generation_submit(user=account.user, params=params, idempotency_key=uuid.uuid4())
            made.append(task.pk)
            number += 1
            stop.wait(every)
    finally:
        connection.close()


def measure(args, roots: dict[str, int]) -> dict:
    import random

    from generation.models import GeneratedImage, GenerationTask
    from miaohua_site.simulator.models import SimApiCall, SimTask

    load = os.getloadavg()
    accounts = members(args.accounts)
    rng = random.Random(7)
    durations = [args.first + args.spread * i / max(1, args.tasks - 1) for i in range(args.tasks)]
    background = []
    for account in accounts:
        background += put_in_flight(account, durations, images=args.images)
    SimApiCall.objects.all().delete()
    writes_before = coordination_writes()
    cpu_before = {**cpu_seconds(roots), "this benchmark": sum(os.times()[:2])}
    started = time.time()

    # New submissions while the background is in flight: from a moment after the start to the steady end.
    new: list[int] = []
    stop = threading.Event()
    submit_until = started + max(args.steady, args.first + args.spread / 2)
    submitter = threading.Thread(
        target=submit_while_busy, args=(accounts, submit_until, args.submit_every, new, stop), daemon=True
    )
    time.sleep(min(5.0, args.first / 2))  # the engine is busy sweeping before anyone submits
    submitter.start()

    steady_until = started + args.steady
    while time.time() < steady_until:  # keep N in flight per account: a new one for each the vendor finished
        for account in accounts:
            in_flight = GenerationTask.objects.filter(
                upstream_account=account, state="pending", prompt=BACKGROUND_PARAMS["prompt"]
            ).count()
            if in_flight < args.tasks:
                more = [args.first + rng.random() * args.spread for _ in range(args.tasks - in_flight)]
                background += put_in_flight(account, more, images=args.images)
        time.sleep(1.0)
    submitter.join()

    deadline = time.time() + args.first + args.spread + args.timeout
    everything = background + new
    while time.time() < deadline:
        if not GenerationTask.objects.filter(pk__in=everything, state__in=("queued", "submitting", "pending")).exists():
            if (
                args.no_mirror
                or not GeneratedImage.objects.filter(task_id__in=everything)
                .exclude(mirror_state__in=("stored", "failed"))
                .exists()
            ):
                break
        time.sleep(0.5)
    ended = time.time()
    cpu_after = {**cpu_seconds(roots), "this benchmark": sum(os.times()[:2])}
    stop.set()
    time.sleep(2)  # the last sweeps' log lines
    # The vendor code too: in the simulator's default (live) shape a 429 is HTTP 200 with code 429.
    calls = list(SimApiCall.objects.values_list("endpoint", "at", "status", "n_ids", "account_email", "code"))
    return {
        "load": load,
        "started": started,
        "ended": ended,
        "steady_until": steady_until,
        "accounts": [a.email for a in accounts],
        "account_ids": {a.pk: a.email for a in accounts},
        "ready": {str(k): at.timestamp() for k, at in SimTask.objects.values_list("id", "ready_at")},
        "background": list(
            GenerationTask.objects.filter(pk__in=background).values("pk", "state", "upstream_task_id", "finished_at")
        ),
        "new": list(
            GenerationTask.objects.filter(pk__in=new).values(
                "pk", "state", "upstream_task_id", "created_at", "submitted_at", "finished_at", "error_message"
            )
        ),
        "stored": {
            task_id: stored_at
            for task_id, stored_at in GeneratedImage.objects.filter(task_id__in=everything, mirror_state="stored")
            .values_list("task_id", "stored_at")
            .order_by("stored_at")
        },
        "images": GeneratedImage.objects.filter(task_id__in=everything).count(),
        "images_stored": GeneratedImage.objects.filter(task_id__in=everything, mirror_state="stored").count(),
        "images_failed": GeneratedImage.objects.filter(task_id__in=everything, mirror_state="failed").count(),
        "calls": calls,
        "writes": {k: v - writes_before.get(k, 0) for k, v in coordination_writes().items()},
        "cpu": {name: cpu_after[name] - cpu_before.get(name, 0) for name in cpu_after},
    }


# --- The report -----------------------------------------------------------------------------------------------

SWEEP = re.compile(r"^(?P<at>\d+\.\d+) (?P<pid>\d+) generation\.sweeps: sweep account=(?P<account>\d+) "
                   r"in_flight=(?P<in_flight>\d+) calls=(?P<calls>\d+)", re.M)  # fmt: skip
ACTIVE = re.compile(r"^(?P<at>\d+\.\d+) (?P<pid>\d+) miaohua_site\.workers\.engine: engine: active", re.M)


def report(args, m: dict, worker_log: str) -> None:
    ready = m["ready"]
    done_delays = [
        t["finished_at"].timestamp() - ready[t["upstream_task_id"]]
        for t in m["background"] + m["new"]
        if t["state"] == "done" and t["finished_at"] and t["upstream_task_id"] in ready
    ]
    steady_delays = [
        t["finished_at"].timestamp() - ready[t["upstream_task_id"]]
        for t in m["background"]
        if t["state"] == "done"
        and t["finished_at"]
        and m["started"] + args.first <= ready[t["upstream_task_id"]] <= m["steady_until"]
    ]
    sent = [(t["submitted_at"] - t["created_at"]).total_seconds() for t in m["new"] if t["submitted_at"]]
    stored_new = [
        (m["stored"][t["pk"]] - t["finished_at"]).total_seconds()
        for t in m["new"]
        if t["state"] == "done" and t["pk"] in m["stored"]
    ]
    stored_all = [
        (m["stored"][t["pk"]] - t["finished_at"]).total_seconds()
        for t in m["background"] + m["new"]
        if t["state"] == "done" and t["pk"] in m["stored"] and t["finished_at"]
    ]
    states: dict[str, int] = defaultdict(int)
    for t in m["background"] + m["new"]:
        states[t["state"]] += 1
    failures = sorted({t["error_message"] for t in m["new"] if t["state"] == "failed"})

    sweeps = [match.groupdict() for match in SWEEP.finditer(worker_log)]
    sweeps = [s for s in sweeps if m["started"] <= float(s["at"]) <= m["ended"]]
    made_goal = sum(int(s["calls"]) == math.ceil(int(s["in_flight"]) / 50) for s in sweeps)
    by_account: dict[str, list[float]] = defaultdict(list)
    for s in sweeps:
        by_account[s["account"]].append(float(s["at"]))
    steady_from, steady_to = m["started"] + 3, max(m["steady_until"], m["started"] + args.first)
    gaps = []
    for times in by_account.values():
        inside = [t for t in times if steady_from <= t <= steady_to]
        gaps += [b - a for a, b in zip(inside, inside[1:], strict=False)]
    actives = [match.groupdict() for match in ACTIVE.finditer(worker_log)]

    task_results = [c for c in m["calls"] if c[0] == "task_results"]
    per_account = defaultdict(list)
    for _, at, _, _, email, _ in task_results:
        per_account[email].append(at.timestamp())
    vendor_calls = [c for c in m["calls"] if c[0] != "files"]
    writes = sum(m["writes"].values())

    print()
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{'PostgreSQL + Redis' if args.db == 'postgresql' else 'SQLite (WAL), ORM broker'}, "
        f"{args.clusters} qcluster × {args.workers or 'default'} workers; simulator gunicorn 4 × 4 threads, "
        f"{'in our database' if args.shared_vendor_db else 'its own database'}; "
        f"load average before: {m['load'][0]:.2f}"
    )
    print(
        f"{args.accounts} accounts × {args.tasks} tasks in flight, finishing "
        f"{args.first:g}–{args.first + args.spread:g} s after they start, steady for {args.steady:g} s; "
        f"{len(m['new'])} new submissions "
        f"(one every {args.submit_every:g} s); tasks: {dict(states)}"
    )
    print(f"engine became active: {len(actives)} time(s), in process(es) {sorted({a['pid'] for a in actives})}")
    print(f"finish → done, every task: {summary(done_delays)}")
    print(f"finish → done, background tasks finishing in the steady phase: {summary(steady_delays)}")
    print(f"sweeps: {len(sweeps)}; making ⌈in flight / 50⌉ calls: {made_goal} of {len(sweeps)}")
    print(
        f"accounts swept: {len(by_account)} of {args.accounts}; longest pause between two sweeps of an account "
        f"(steady phase): {max(gaps, default=0):.2f} s, median {statistics.median(gaps) if gaps else 0:.2f} s"
    )
    refused = sum(429 in (c[2], c[5]) for c in task_results)
    print(
        f"task_results calls: {len(task_results)}, answered 429: {refused}, most ids "
        f"in one call: {max((c[3] or 0 for c in task_results), default=0)}; busiest second of any account: "
        f"{max((busiest_second(t) for t in per_account.values()), default=0)} (goal ≤ 6)"
    )
    print(f"new submissions, queued → accepted by Miaohua: {summary(sent)} (goal p95 ≤ 5 s)")
    if not args.no_mirror:
        print(f"new submissions, done → all images stored: {summary(stored_new)} (goal p95 ≤ 10 s)")
        print(f"every task, done → all images stored: {summary(stored_all)}")
        print(f"images stored {m['images_stored']} of {m['images']}, failed {m['images_failed']}")
    print(
        f"coordination writes: {m['writes']} = {writes} for {len(task_results)} task_results calls "
        f"({writes / max(1, len(task_results)):.2f} per call) and {len(vendor_calls)} vendor calls in all "
        f"({writes / max(1, len(vendor_calls)):.2f} per call; goal ≤ 1.5)"
    )
    seconds = m["ended"] - m["started"]
    print(
        f"CPU over the {seconds:.0f} s measured: "
        + ", ".join(f"{name} {used:.0f} s ({used / seconds:.2f} cores)" for name, used in m["cpu"].items())
    )
    for failure in failures:
        print(f"FAILED: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10, help="members, each with a Miaohua account (K)")
    parser.add_argument("--tasks", type=int, default=100, help="tasks in flight per account (N)")
    parser.add_argument("--images", type=int, default=2, help="images per background task (n_images)")
    parser.add_argument("--first", type=float, default=20.0, help="seconds until the first task finishes")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which the tasks finish")
    parser.add_argument("--steady", type=float, default=60.0, help="keep N in flight per account this long")
    parser.add_argument("--submit-every", type=float, default=0.5, help="seconds between new submissions")
    parser.add_argument("--new-task-seconds", type=float, default=4.0, help="how long a new submission takes")
    parser.add_argument("--workers", type=int, default=0, help="qcluster workers (0: the default, Q_WORKERS)")
    parser.add_argument("--clusters", type=int, default=1, help="qcluster processes")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-db", default="bench_poller", help="the PostgreSQL database made (and dropped)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="the broker with --db postgresql")
    parser.add_argument("--no-mirror", action="store_true", help="states only, no image downloads")
    parser.add_argument(
        "--shared-vendor-db",
        action="store_true",
        help="keep the simulator's tables in our database, as `dev.py start` does (default: a SQLite file of its own)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="extra seconds to wait for the end")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    args = parser.parse_args()
    if args.pg_db in ("postgres", "test"):
        parser.error("--pg-db must be a database of its own (it is dropped)")
    run(args)


if __name__ == "__main__":
    main()
