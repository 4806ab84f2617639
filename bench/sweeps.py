#!/usr/bin/env python3
"""Benchmark of X/Y/Z sweeps at team scale (issue #13): a team sweeping at once. Five members on the team's
Miaohua account; members 1–4 each store a 3 × 3 × 3 sweep (27 tasks of one image) at the same moment, while
member 5 submits single tasks one after the other, as the Generate page does.

    .venv/bin/python bench/sweeps.py                                       # SQLite, one qcluster, default workers
    .venv/bin/python bench/sweeps.py --db postgresql --pg-db bench_sweeps --redis redis://127.0.0.1:6379/11

(With PostgreSQL give it a Redis database no other cluster uses: django-q2 clusters on one Redis database share
their queue. `--singles`, `--every`, `--runs`, `--task-seconds`, `--keep`: see `--help`.)

It builds the throw-away installation of bench/fairness.py (its own SQLite file or PostgreSQL database, its own
media folder; the simulator as the vendor in a gunicorn of its own, its state in a SQLite file of its own; one
django-q2 cluster, `manage.py qcluster` with the default worker count, as `dev.py start` does). First, before
the cluster starts (no engine), it stores sweeps of 1, 27 and 100 tasks in process through
`generation_submit_group` (the web request's work) and measures each: ms and SQL queries; and the sweep page's
grid poll (GET /sweeps/<id>/grid/ through Django's test client, in process) on the 27- and 100-task sweeps while
every cell is still queued. Those sweeps are deleted again. Then, with the engine running:

- members 1–4 store their sweeps in four threads released together (four web requests at once): ms each;
- member 5 submits `--singles` tasks (`generation_submit`), one every `--every` seconds: queued → sent (accepted
  by the vendor) while the 108 sweep tasks are queued — the fairness promise (goal ≤ 5 s);
- when each sweep's tasks were sent, and the members of the first `--order` tasks sent, in order;
- each sweep from stored → every task done and every image stored (the time a member watches the grid fill),
  and the images stored / failed;
- member 1's grid poll every 2 s while it fills in: ms and queries;
- the busiest second of task_submit calls at the simulator (the submission window: 6) and any 429;
- finally member 1 stores a 100-task sweep (5 × 5 × 4) and, once it is done, the grid poll is measured on it and
  on a finished 27-task sweep (every cell an image).
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from common import free_port, stop_processes, wait_for
from poller import GUNICORN, PY, ROOT, busiest_second, pg_database, prepare

PARAMS = {
    "versionid": "sgl_artist_v0.3.5_0925",
    "prompt": "benchmark lighthouse",
    "scale": 7,
    "ddim_steps": 20,
    "select_seed": 7,
    "output_size": "640x640",
    "n_images": 1,
}
TEAM_EMAIL = "team@example.com"
AXIS_VALUES = {"seed": [11, 12, 13, 14, 15], "scale": [5, 6, 7, 8, 9], "steps": [20, 22, 24, 26, 28]}
AXIS_PARAM = {"seed": "select_seed", "scale": "scale", "steps": "ddim_steps"}
AXIS_LABEL = {"seed": "Seed", "scale": "Guidance scale", "steps": "Steps"}


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values):.1f} ms, max {max(values):.1f} ms" if values else "none"


def seconds(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s, max {max(values):.2f} s ({len(values)})" if values else "none"


def sweep_plan(shape: tuple[int, int, int], *, prompt: str):
    """A sweep of x × y × z tasks (seed on X, guidance scale on Y, steps on Z), one image each, in the order
    generation.sweeps.expand makes them (z, then y, then x)."""
    from generation.plans import Plan, TaskPlan

    kinds = ("seed", "scale", "steps")
    axes = [
        {
            "axis": letter,
            "kind": kind,
            "label": AXIS_LABEL[kind],
            "values": AXIS_VALUES[kind][:n],
            "labels": [str(v) for v in AXIS_VALUES[kind][:n]],
        }
        for letter, kind, n in zip("xyz", kinds, shape, strict=True)
    ]
    base = {**PARAMS, "prompt": prompt}
    tasks = []
    for z in range(shape[2]):
        for y in range(shape[1]):
            for x in range(shape[0]):
                params = dict(base)
                for kind, index in zip(kinds, (x, y, z), strict=True):
                    params[AXIS_PARAM[kind]] = AXIS_VALUES[kind][index]
                tasks.append(TaskPlan(params=params, model_name="Artist v0.3.5", cell=[x, y, z]))
    return Plan(tasks=tasks, kind="sweep", axes=axes, base_params=base)


def team(n: int):
    """The team account (a simulator account made here) and ``n`` members who may use it."""
    from django.contrib.auth import get_user_model

    from miaohua_site.accounts.services import upstream_account_store
    from miaohua_site.simulator import catalog
    from miaohua_site.simulator.services.accounts import account_create
    from team.models import Membership

    catalog.ensure_seeded()
    account_create(email=TEAM_EMAIL, password="bench", max_running_tasks=100_000, credits=10**9)
    account = upstream_account_store(team=True, email=TEAM_EMAIL, password="bench")
    users = []
    for i in range(1, n + 1):
        user = get_user_model().objects.create_user(f"member-{i}", password="bench-pass-123")
        Membership.objects.create(user=user, uses_team_account=True)
        users.append(user)
    return account, users


def store_timed(user, plan):
    """generation_submit_group as the web request runs it: ms and SQL queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from generation.services.submit import generation_submit_group

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        group = generation_submit_group(user=user, plan=plan, idempotency_key=uuid.uuid4())
        took = (time.perf_counter() - start) * 1000
    return group, took, len(queries)


def grid_timed(client, group, runs: int) -> tuple[list[float], int, int]:
    """GET /sweeps/<id>/grid/ through the test client: ms of each run, SQL queries, the status."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = f"/sweeps/{group.pk}/grid/"
    client.get(url)  # warm-up
    timings, queries, status = [], 0, 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        queries, status = len(captured), response.status_code
        assert status in (200, 286), (url, status)
    return timings, queries, status


def alone(users, runs: int) -> dict:
    """Before the engine runs: storing sweeps of 1, 27 and 100 tasks, and the grid poll on the queued ones."""
    from django.test import Client

    from generation.models import GenerationTask, TaskGroup

    user = users[0]
    client = Client()
    client.force_login(user)
    stored, grids, made = {}, {}, []
    for shape in ((1, 1, 1), (3, 3, 3), (5, 5, 4)):
        n = shape[0] * shape[1] * shape[2]
        timings, queries = [], []
        for i in range(runs):
            group, took, count = store_timed(user, sweep_plan(shape, prompt=f"alone {n} #{i}"))
            timings.append(took)
            queries.append(count)
            made.append(group.pk)
        stored[n] = (timings, queries)
        if n > 1:
            grids[n] = grid_timed(client, group, runs)
    GenerationTask.objects.filter(group_id__in=made).delete()
    TaskGroup.objects.filter(pk__in=made).delete()
    return {"stored": stored, "grids_queued": grids}


def wait_finished(group_pks: list[int], timeout: float) -> dict[int, float]:
    """Until every task of these groups is final and every image of theirs stored (or given up): the moment
    each group got there (its last image's stored_at, or its last task's finished_at)."""
    from django.db.models import Max

    from generation.models import GeneratedImage, GenerationTask

    deadline = time.time() + timeout
    while time.time() < deadline:
        open_tasks = GenerationTask.objects.filter(
            group_id__in=group_pks, state__in=("queued", "submitting", "pending")
        ).exists()
        open_images = (
            GeneratedImage.objects.filter(task__group_id__in=group_pks)
            .exclude(mirror_state__in=("stored", "failed"))
            .exists()
        )
        if not open_tasks and not open_images:
            break
        time.sleep(0.25)
    ends = {}
    for pk in group_pks:
        images = GeneratedImage.objects.filter(task__group_id=pk).aggregate(at=Max("stored_at"))["at"]
        tasks = GenerationTask.objects.filter(group_id=pk).aggregate(at=Max("finished_at"))["at"]
        at = max((t for t in (images, tasks) if t), default=None)
        ends[pk] = at.timestamp() if at else float("inf")
    return ends


def singles(user, count: int, every: float, made: list, queued: list, start: threading.Event) -> None:
    """Member 5: single tasks through the Generate page's path, one every ``every`` seconds (and how many sweep
    tasks were queued at each)."""
    from django.db import connection

    from generation.models import GenerationTask
    from generation.services import generation_submit

    start.wait()
    try:
        for i in range(count):
            queued.append(GenerationTask.objects.filter(group__isnull=False, state="queued").count())
            params = {**PARAMS, "prompt": f"member five's kite {i} {uuid.uuid4().hex[:6]}"}
            task = generation_submit(user=user, params=params, idempotency_key=uuid.uuid4())
            made.append(task.pk)
            time.sleep(every)
    finally:
        connection.close()


def sweep_request(user, index: int, barrier: threading.Barrier, out: dict) -> None:
    """One member's Generate form with a 3 × 3 × 3 sweep: the web request's work, released with the others'."""
    from django.db import connection

    try:
        plan = sweep_plan((3, 3, 3), prompt=f"member {index}'s lighthouse")
        barrier.wait()
        group, took, queries = store_timed(user, plan)
        out[index] = (group.pk, took, queries, time.time())
    finally:
        connection.close()


def measure(args, users) -> dict:
    from django.db.models import Q
    from django.test import Client

    from generation.models import GenerationTask, TaskGroup
    from miaohua_site.simulator.models import SimApiCall

    load = os.getloadavg()
    sweepers, five = users[:4], users[4]
    barrier = threading.Barrier(len(sweepers))
    requests: dict[int, tuple] = {}
    threads = [
        threading.Thread(target=sweep_request, args=(user, i + 1, barrier, requests)) for i, user in enumerate(sweepers)
    ]
    single_pks: list[int] = []
    queued_at_single: list[int] = []
    go = threading.Event()
    five_thread = threading.Thread(
        target=singles, args=(five, args.singles, args.every, single_pks, queued_at_single, go), daemon=True
    )
    five_thread.start()
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.5)  # the engine has begun on the sweeps
    queued_at_first = GenerationTask.objects.filter(group__isnull=False, state="queued").count()
    go.set()

    # Member 1 watches the grid fill (the page polls every 2 s) while member 5 submits.
    client = Client()
    client.force_login(sweepers[0])
    group_pks = [requests[i + 1][0] for i in range(len(sweepers))]
    watched = TaskGroup.objects.get(pk=group_pks[0])
    polls, poll_queries = [], []
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        timings, queries, status = grid_timed(client, watched, 1)
        polls.append(timings[0])
        poll_queries.append(queries)
        busy = GenerationTask.objects.filter(
            group_id__in=group_pks, state__in=("queued", "submitting", "pending")
        ).exists()
        if status == 286 and not busy and not five_thread.is_alive():
            break
        time.sleep(2.0)
    five_thread.join()
    ends = wait_finished(group_pks, args.timeout)
    while (
        time.time() < deadline
        and GenerationTask.objects.filter(pk__in=single_pks, state__in=("queued", "submitting")).exists()
    ):
        time.sleep(0.2)
    ended = time.time()

    singles_rows = list(
        GenerationTask.objects.filter(pk__in=single_pks).values("created_at", "submitted_at", "state", "error_message")
    )
    # Each sweep's sending: its first and last task accepted by the vendor, relative to the sweeps' storing.
    spans = {}
    for pk in group_pks:
        sent = sorted(
            t.timestamp()
            for t in GenerationTask.objects.filter(group_id=pk, submitted_at__isnull=False).values_list(
                "submitted_at", flat=True
            )
        )
        spans[pk] = (sent[0] - started, sent[-1] - started, len(sent)) if sent else (0, 0, 0)
    # Who was served: the members of the first tasks accepted by the vendor, in order (1–4 sweeps, 5 singles).
    number = {user.pk: str(i + 1) for i, user in enumerate(users)}
    order = "".join(
        number[owner]
        for owner in GenerationTask.objects.filter(owner__in=users, submitted_at__isnull=False)
        .order_by("submitted_at", "id")
        .values_list("owner_id", flat=True)[: args.order]
    )
    submits = [
        at.timestamp()
        for at in SimApiCall.objects.filter(endpoint="task_submit", account_email=TEAM_EMAIL).values_list(
            "at", flat=True
        )
    ]
    refused = SimApiCall.objects.filter(endpoint="task_submit", code=429).count()
    failed = list(GenerationTask.objects.filter(state="failed").values_list("error_message", flat=True).distinct())
    groups = {g.pk: g for g in TaskGroup.objects.filter(pk__in=group_pks)}
    watch = [(groups[pk].created_at.timestamp(), ends[pk]) for pk in group_pks]

    from generation.models import GeneratedImage

    images = GeneratedImage.objects.filter(Q(task__group_id__in=group_pks) | Q(task_id__in=single_pks))
    image_states = {
        "stored": images.filter(mirror_state="stored").count(),
        "failed": images.filter(mirror_state="failed").count(),
        "all": images.count(),
    }
    # The grid at 27 finished cells, and a 100-task sweep stored, filled and polled.
    finished_27 = grid_timed(client, watched, args.runs)
    big, big_ms, big_queries = store_timed(sweepers[0], sweep_plan((5, 5, 4), prompt="member 1's big lighthouse"))
    big_end = wait_finished([big.pk], args.timeout)[big.pk]
    big_fill = big_end - big.created_at.timestamp()
    finished_100 = grid_timed(client, big, args.runs)
    return {
        "load": load,
        "seconds": ended - started,
        "requests": requests,
        "queued_at_first": queued_at_first,
        "queued_at_single": queued_at_single,
        "order": order,
        "members": [requests[i + 1][0] for i in range(len(sweepers))],
        "singles": singles_rows,
        "spans": spans,
        "watch": watch,
        "polls": (polls, poll_queries),
        "busiest": busiest_second(submits),
        "submits": len(submits),
        "refused": refused,
        "failed": failed[:5],
        "images": image_states,
        "finished_27": finished_27,
        "big": (big_ms, big_queries, big_fill),
        "finished_100": finished_100,
        "since": datetime.fromtimestamp(started, UTC),
    }


def run(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-sweeps-"))
    sim_port = free_port()
    args.workers, args.new_task_seconds, args.shared_vendor_db = 0, args.task_seconds, False
    env = prepare(args, workdir, sim_port)
    env["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"  # the test client's host, for the grid polls
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
        account, users = team(5)
        first = alone(users, args.runs)  # no engine yet: the web request's work alone
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
        report(args, first, measure(args, users))
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


def report(args, first: dict, m: dict) -> None:
    print()
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{'PostgreSQL + Redis' if args.db == 'postgresql' else 'SQLite (WAL), ORM broker'}, "
        f"1 qcluster × default workers; simulator gunicorn 4 × 4 threads, {args.task_seconds:g} s a task; "
        f"load average before: {m['load'][0]:.2f}"
    )
    print("(a) storing a sweep alone, in process, no engine (generation_submit_group):")
    for n, (timings, queries) in first["stored"].items():
        print(f"    {n:3} tasks: {ms(timings)}, {statistics.median(queries):.0f} queries ({len(timings)} runs)")
    for n, (timings, queries, status) in first["grids_queued"].items():
        print(f"    grid poll, {n} tasks all queued: {ms(timings)}, {queries} queries, HTTP {status}")
    took = [r[1] for r in m["requests"].values()]
    print(
        f"(a) four 3×3×3 sweeps stored at the same moment, engine running: {', '.join(f'{t:.0f}' for t in took)} ms "
        f"→ {ms(took)}; queries {sorted({r[2] for r in m['requests'].values()})}"
    )
    print(f"    sweep tasks still queued when member 5 began: {m['queued_at_first']} of 108")
    print(f"    sweep tasks queued at each of member 5's tasks: {m['queued_at_single']}")
    waits = [
        (t["submitted_at"] - t["created_at"]).total_seconds() if t["submitted_at"] else float("inf")
        for t in m["singles"]
    ]
    print(f"(b) member 5's single tasks, queued → sent: {', '.join(f'{w:.2f}' for w in waits)} s")
    print(f"(b) member 5's single tasks, queued → sent: {seconds(waits)} (goal ≤ 5 s)")
    for member, pk in enumerate(m["members"], start=1):
        first_sent, last_sent, n = m["spans"][pk]
        print(f"    member {member}'s sweep: {n} tasks sent from {first_sent:.1f} s to {last_sent:.1f} s after storing")
    print(f"    members of the first {len(m['order'])} tasks sent, in order: {m['order']}")
    fills = [end - stored for stored, end in m["watch"]]
    print(f"(c) each sweep, stored → every task done and every image stored: {', '.join(f'{f:.1f}' for f in fills)} s")
    print(f"(c) {seconds(fills)}")
    images = m["images"]
    print(
        f"    images of the sweeps and singles: {images['stored']} of {images['all']} stored, {images['failed']} failed"
    )
    big_ms, big_queries, big_fill = m["big"]
    print(
        f"    then a 100-task sweep alone: stored in {big_ms:.0f} ms ({big_queries} queries), filled {big_fill:.1f} s"
    )
    print(
        f"(d) busiest second of task_submit at the simulator: {m['busiest']} (window {args.window}); "
        f"{m['submits']} calls; answered 429: {m['refused']}"
    )
    polls, poll_queries = m["polls"]
    print(
        f"(e) member 1's grid poll every 2 s while 27 cells fill in (engine running): {ms(polls)}, "
        f"queries {min(poll_queries)}–{max(poll_queries)} ({len(polls)} polls)"
    )
    for name in ("finished_27", "finished_100"):
        timings, queries, status = m[name]
        print(f"(e) grid poll, {name.split('_')[1]} tasks finished: {ms(timings)}, {queries} queries, HTTP {status}")
    print(f"run: {m['seconds']:.1f} s from the sweeps' storing to the last sweep and single task done")
    for message in m["failed"]:
        print(f"FAILED: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--singles", type=int, default=10, help="member 5's single tasks (one at a time)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between two of member 5's tasks")
    parser.add_argument("--order", type=int, default=40, help="how many of the first tasks sent to list by member")
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each in-process measurement")
    parser.add_argument("--task-seconds", type=float, default=4.0, help="how long the simulator takes per task")
    parser.add_argument("--timeout", type=float, default=180.0, help="longest wait for the sweeps to fill")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-db", default="bench_sweeps", help="the PostgreSQL database made (and dropped)")
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
