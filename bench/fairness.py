#!/usr/bin/env python3
"""Benchmark of fair sharing: two members on the team's Miaohua account, member A with 300 tasks queued, member B
submits one. How long does B's task wait to be sent, and how fast do A's go out?

    .venv/bin/python bench/fairness.py                                    # SQLite, one qcluster, default workers
    .venv/bin/python bench/fairness.py --db postgresql --pg-db bench_fairness --redis redis://127.0.0.1:6379/0

It builds a throw-away installation like bench/poller.py (its own SQLite file or PostgreSQL database, its own
media folder; the simulator as the vendor in a gunicorn of its own, its state in a SQLite file of its own) and
starts one django-q2 cluster (`manage.py qcluster`, the default worker count, as `dev.py start` does): the engine
sends, polls and downloads in its worker processes, as in production. Two members may use the team account; A's
300 tasks are stored queued (as the Generate page stores them); once the engine is sending them, B submits one
task through the real path (`generation_submit`) and the run measures B's queued → sent (accepted by the vendor).
Before each repetition A's queue is topped up to 300. It reports B's waits (each, median, max), A's tasks sent a
second over the run, and the busiest second of task_submit calls at the simulator (the submission window: 6).
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from common import free_port, stop_processes, wait_for
from poller import GUNICORN, PY, ROOT, busiest_second, pg_database, prepare

PARAMS = {
    "versionid": "sgl_artist_v0.3.5_0925",
    "prompt": "benchmark lighthouse",  # one prompt and seed: the simulator renders the picture once
    "scale": 7,
    "ddim_steps": 20,
    "select_seed": 7,
    "output_size": "640x640",
    "n_images": 1,
}
TEAM_EMAIL = "team@example.com"


def team(args):
    """The team account (a simulator account made here) and two members who may use it."""
    from django.contrib.auth import get_user_model

    from miaohua_site.accounts.services import upstream_account_store
    from miaohua_site.simulator import catalog
    from miaohua_site.simulator.services.accounts import account_create
    from team.models import Membership

    catalog.ensure_seeded()
    account_create(email=TEAM_EMAIL, password="bench", max_running_tasks=100_000, credits=10**9)
    account = upstream_account_store(team=True, email=TEAM_EMAIL, password="bench")
    users = []
    for name in ("member-a", "member-b"):
        user = get_user_model().objects.create_user(name, password="bench-pass-123")
        Membership.objects.create(user=user, uses_team_account=True)
        users.append(user)
    return account, users


def top_up(user, account, queued: int) -> int:
    """A's queue back to ``queued`` tasks, stored as the Generate page stores them (one INSERT for the lot)."""
    from django.utils import timezone

    from generation.models import GenerationTask
    from generation.services.submit import task_columns

    missing = queued - GenerationTask.objects.filter(owner=user, state="queued").count()
    now = timezone.now()
    GenerationTask.objects.bulk_create(
        GenerationTask(
            owner=user, upstream_account=account, idempotency_key=uuid.uuid4(), params=PARAMS,
            created_at=now, **task_columns(PARAMS),
        )
        for _ in range(max(0, missing))
    )  # fmt: skip
    return max(0, missing)


def measure(args) -> dict:
    from generation.models import GenerationTask
    from generation.services import generation_submit
    from miaohua_site.simulator.models import SimApiCall

    load = os.getloadavg()
    account, (a, b) = team(args)
    top_up(a, account, args.queued)
    started = time.time()
    waits, a_queued_at_b = [], []
    time.sleep(args.settle)  # the engine is sending A's tasks before B submits
    for _ in range(args.repeat):
        top_up(a, account, args.queued)
        time.sleep(0.5)
        a_queued_at_b.append(GenerationTask.objects.filter(owner=a, state="queued").count())
        params = {**PARAMS, "prompt": f"member b's kite {uuid.uuid4().hex[:6]}"}
        task = generation_submit(user=b, params=params, idempotency_key=uuid.uuid4())
        deadline = time.time() + args.timeout
        while time.time() < deadline:
            task.refresh_from_db()
            if task.submitted_at or task.state == "failed":
                break
            time.sleep(0.05)
        if task.submitted_at:
            waits.append((task.submitted_at - task.created_at).total_seconds())
        else:
            waits.append(float("inf"))
            print(f"B's task #{task.pk} not sent: {task.state} {task.error_message}")
        time.sleep(args.pause)
    ended = time.time()
    since = datetime.fromtimestamp(started, UTC)
    until = datetime.fromtimestamp(ended, UTC)
    a_sent = GenerationTask.objects.filter(owner=a, submitted_at__gte=since, submitted_at__lte=until).count()
    submits = [
        at.timestamp()
        for at in SimApiCall.objects.filter(endpoint="task_submit", account_email=TEAM_EMAIL).values_list(
            "at", flat=True
        )
    ]
    refused = SimApiCall.objects.filter(endpoint="task_submit", code=429).count()
    failed = GenerationTask.objects.filter(state="failed").values_list("error_message", flat=True).distinct()
    return {
        "load": load,
        "seconds": ended - started,
        "waits": waits,
        "a_queued_at_b": a_queued_at_b,
        "a_sent": a_sent,
        "busiest": busiest_second(submits),
        "refused": refused,
        "failed": list(failed)[:5],
    }


def run(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-fairness-"))
    sim_port = free_port()
    args.workers, args.new_task_seconds, args.shared_vendor_db = 0, args.task_seconds, False
    env = prepare(args, workdir, sim_port)
    os.environ.update(env)
    sys.path[:0] = [str(workdir), str(ROOT)]
    procs: list[subprocess.Popen] = []
    logs = {name: open(workdir / f"{name}.log", "w") for name in ("simulator", "worker")}
    if args.db == "postgresql":
        pg_database(args.pg_db, create=True)
    try:
        migrate = [PY, ROOT / "manage.py", "migrate", "--noinput", "-v", "0"]
        subprocess.run(migrate, cwd=ROOT, env=env, check=True)
        subprocess.run([*migrate, "--database", "simulator"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        procs.append(
            subprocess.Popen(
                [GUNICORN, "miaohua_site.wsgi", "-b", f"127.0.0.1:{sim_port}", "-k", "gthread", "-w", "4",
                 "--threads", "4", "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=logs["simulator"], stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        wait_for(f"http://127.0.0.1:{sim_port}/simulator/api/v1b/get_generation_form")
        procs.append(
            subprocess.Popen(
                [PY, ROOT / "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=logs["worker"],
                stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        report(args, measure(args))
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


def report(args, m: dict) -> None:
    waits = m["waits"]
    print()
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{'PostgreSQL + Redis' if args.db == 'postgresql' else 'SQLite (WAL), ORM broker'}, "
        f"1 qcluster × default workers; simulator gunicorn 4 × 4 threads; load average before: {m['load'][0]:.2f}"
    )
    print(f"A's queue when B submitted: {m['a_queued_at_b']}")
    print(f"B's task, queued → sent: {', '.join(f'{w:.2f}' for w in waits)} s")
    print(
        f"B's task, queued → sent: median {statistics.median(waits):.2f} s, max {max(waits):.2f} s "
        f"({len(waits)} repetitions; goal ≤ 5 s)"
    )
    print(
        f"A's tasks sent: {m['a_sent']} in {m['seconds']:.1f} s = {m['a_sent'] / m['seconds']:.2f} a second "
        f"(the submission window: {args.window})"
    )
    print(f"busiest second of task_submit calls at the simulator: {m['busiest']} (≤ 6); answered 429: {m['refused']}")
    for message in m["failed"]:
        print(f"FAILED: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queued", type=int, default=300, help="member A's queued tasks before each of B's")
    parser.add_argument("--repeat", type=int, default=7, help="B's submissions (one at a time)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of A's sending before B's first")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between two of B's submissions")
    parser.add_argument("--task-seconds", type=float, default=4.0, help="how long the simulator takes per task")
    parser.add_argument("--timeout", type=float, default=60.0, help="longest wait for B's task")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-db", default="bench_fairness", help="the PostgreSQL database made (and dropped)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="the broker with --db postgresql")
    parser.add_argument("--no-mirror", action="store_true", help="no image downloads")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    args = parser.parse_args()
    if args.pg_db in ("postgres", "test"):
        parser.error("--pg-db must be a database of its own (it is dropped)")
    args.window = int(os.environ.get("MIAOHUA_SUBMITS_PER_SECOND", "6"))
    run(args)


if __name__ == "__main__":
    main()
