#!/usr/bin/env python3
"""Benchmark of the generation poller: N tasks in flight on the simulator, one account.

    .venv/bin/python bench/poller.py                  # 1,000 tasks, image downloads off
    .venv/bin/python bench/poller.py --mirror         # the same with every image downloaded and thumbnailed

It builds a throw-away installation in a temporary directory (its own SQLite file and media folder), starts
the web server with the simulator (gunicorn) and a django-q2 cluster (`manage.py qcluster`) as separate
processes, puts N tasks in flight at the simulator (finishing at spread-out times), records them as pending
and starts the poller the way a submission does (`poll_start`). The real path is measured: the cluster's
poll job, its lease, its database rate limiter and task_results over HTTP.

It reports:
- task_results calls per sweep against the tasks in flight at the sweep's start (goal ⌈N/50⌉);
- the most task_results calls the simulator received in any one-second window (goal ≤ 6), and any 429;
- the delay from the simulator finishing a task (its `ready_at`) to our database showing `done`
  (goal: median ≤ 2 s, 95th percentile ≤ 5 s);
- with --mirror, also how long the downloads took after the last task was done.
"""

import argparse
import math
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(args, workdir: Path, port: int) -> dict:
    """What every process of the run shares: one SQLite file, one media folder, one settings module."""
    (workdir / "bench_settings.py").write_text(
        textwrap.dedent(
            f"""
            from miaohua_site.settings import *  # noqa: F403
            from miaohua_site.settings import LOGGING, Q_CLUSTER

            GENERATION_MIRROR_IMAGES = {bool(args.mirror)!r}
            GENERATION_POLL_BUDGET_SECONDS = {args.budget!r}
            MEDIA_ROOT = {str(workdir / "media")!r}
            Q_CLUSTER = {{**Q_CLUSTER, "workers": {args.workers}, "save_limit": 10000}}
            LOGGING = {{**LOGGING, "root": {{"handlers": ["console"], "level": "WARNING"}}}}
            """
        )
    )
    return {
        **os.environ,
        "DEBUG": "1",
        "SECRET_KEY": "bench-poller-secret",  # the simulator signs its links with it: every process alike
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "CACHE_DIR": str(workdir / "cache"),
        "MIAOHUA_SIMULATOR_BASE": f"http://127.0.0.1:{port}/simulator/api/v1b/",
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer at {url}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(share * len(ordered)) - 1)
    return ordered[index]


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def put_in_flight(account, durations: list[float], *, images: int, first_number: int = 0) -> list[int]:
    """Tasks accepted by the simulator, each finishing after its duration, and our pending rows for them
    (what the submit job leaves behind). Handed to the simulator's own task_submit in this process: the
    simulator keeps its state in the shared database, so its web server answers for them."""
    from django.conf import settings
    from django.utils import timezone

    from generation.models import GenerationTask
    from miaohua_site.simulator import catalog
    from miaohua_site.simulator.models import SimAccount
    from miaohua_site.simulator.services import generation as sim_generation
    from miaohua_site.simulator.validation import task_submit_params

    catalog.ensure_seeded()
    vendor_account = SimAccount.objects.get(email="demo@example.com")
    rows = []
    now = timezone.now()
    for number, duration in enumerate(durations, start=first_number):
        params = {
            "versionid": "sgl_artist_v0.3.5_0925",
            "prompt": f"benchmark lighthouse #{number}",
            "n_images": images,
            "scale": 7,
            "ddim_steps": 20,
            "output_size": "640x640",
        }
        settings.MIAOHUA_SIMULATOR_TASK_SECONDS = duration
        vendor_task = sim_generation.task_submit(
            account=vendor_account, params=task_submit_params(vendor_account, params)
        )
        rows.append(
            GenerationTask(
                owner=account.user,
                upstream_account=account,
                idempotency_key=uuid.uuid4(),
                params=params,
                params_sent=params,
                prompt=params["prompt"],
                versionid=params["versionid"],
                n_images=images,
                output_size=params["output_size"],
                state=GenerationTask.State.PENDING,
                upstream_task_id=str(vendor_task.id),
                claimed_at=now,
                submit_attempted_at=now,
                submitted_at=now,
            )
        )
    return [task.pk for task in GenerationTask.objects.bulk_create(rows)]


def run(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-poller-"))
    port = free_port()
    env = prepare(args, workdir, port)
    os.environ.update(env)
    sys.path[:0] = [str(workdir), str(ROOT)]
    procs: list[subprocess.Popen] = []
    logs = [open(workdir / name, "w") for name in ("web.log", "worker.log")]
    try:
        migrate = [PY, ROOT / "manage.py", "migrate", "--noinput", "-v", "0"]
        subprocess.run(migrate, cwd=ROOT, env=env, check=True)
        procs.append(
            subprocess.Popen(
                [GUNICORN, "miaohua_site.wsgi", "-b", f"127.0.0.1:{port}", "-k", "gthread", "-w", "2",
                 "--threads", "4", "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=logs[0], stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        qcluster = [PY, ROOT / "manage.py", "qcluster"]
        procs.append(subprocess.Popen(qcluster, cwd=ROOT, env=env, stdout=logs[1], stderr=subprocess.STDOUT))
        import django

        django.setup()
        report(args, measure(args, port))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def measure(args, port: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from django_q.models import Task as QTask

    from generation import services
    from generation.leases import lease_is_free
    from generation.models import GeneratedImage, GenerationTask
    from miaohua_site.accounts.services import upstream_account_store
    from miaohua_site.simulator.models import SimApiCall, SimTask

    wait_for(f"http://127.0.0.1:{port}/simulator/api/v1b/get_generation_form")
    services.ensure_schedules()  # as after `migrate`: the minute schedule restarts a sweep that stopped
    user = get_user_model().objects.create_user("bench", password="bench-pass")
    account = upstream_account_store(user=user, email="demo@example.com", password="demo")
    rng = random.Random(7)

    # N tasks in flight, finishing evenly from --first to --first + --spread seconds from now.
    n = args.tasks
    durations = [args.first + args.spread * i / max(1, n - 1) for i in range(n)]
    pks = put_in_flight(account, durations, images=args.images)
    SimApiCall.objects.all().delete()
    started = time.time()
    services.poll_start(account_id=account.pk)  # what the submit job does after task_submit

    # --steady: keep N in flight at the vendor (a new task for each one that finishes) for that long.
    steady_until = started + args.steady
    while time.time() < steady_until:
        running = SimTask.objects.filter(ready_at__gt=timezone.now()).count()
        if running < n:
            more = [args.first + rng.random() * args.spread for _ in range(n - running)]
            pks += put_in_flight(account, more, images=args.images, first_number=len(pks))
        time.sleep(0.5)

    deadline = time.time() + args.first + args.spread + args.timeout
    while time.time() < deadline:
        if not GenerationTask.objects.filter(pk__in=pks, state=GenerationTask.State.PENDING).exists():
            break
        time.sleep(0.5)
    all_done_at = time.time()
    lease = services.poll_lease_name(account.pk)
    poll_jobs = QTask.objects.filter(func="generation.tasks.poll_sweep_job")
    while time.time() < deadline and not (lease_is_free(lease) and poll_jobs.exists()):
        time.sleep(0.2)  # the last poll job's report is saved once it returns
    mirrored_at = None
    if args.mirror:
        while time.time() < deadline + args.timeout:
            if not GeneratedImage.objects.filter(task_id__in=pks).exclude(mirror_state="stored").exists():
                mirrored_at = time.time()
                break
            time.sleep(0.5)

    ready = {str(key): at.timestamp() for key, at in SimTask.objects.values_list("id", "ready_at")}
    tasks = list(GenerationTask.objects.filter(pk__in=pks).values("state", "upstream_task_id", "finished_at"))
    reports = [job.result for job in poll_jobs.order_by("started") if isinstance(job.result, dict)]
    failed_jobs = QTask.objects.filter(success=False, func__startswith="generation.")
    failures = [str(job.result).splitlines()[0][:300] for job in failed_jobs]
    return {
        "started": started,
        "steady_until": steady_until,
        "all_done_at": all_done_at,
        "mirrored_at": mirrored_at,
        "ready": ready,
        "tasks": tasks,
        "calls": list(SimApiCall.objects.filter(endpoint="task_results").values_list("at", "status", "n_ids")),
        "reports": reports,
        "failures": failures,
        "images_stored": GeneratedImage.objects.filter(task_id__in=pks, mirror_state="stored").count(),
        "images": GeneratedImage.objects.filter(task_id__in=pks).count(),
    }


def report(args, m: dict) -> None:
    ready = m["ready"]
    delays, steady_delays = [], []
    states: dict[str, int] = {}
    for task in m["tasks"]:
        states[task["state"]] = states.get(task["state"], 0) + 1
        if task["state"] == "done" and task["finished_at"]:
            finished_at = ready[task["upstream_task_id"]]
            delay = task["finished_at"].timestamp() - finished_at
            delays.append(delay)
            if m["started"] + args.first <= finished_at <= m["steady_until"]:
                steady_delays.append(delay)
    sweeps = [
        (in_flight, calls)
        for job in m["reports"]
        for in_flight, calls in zip(job["in_flight_per_sweep"], job["calls_per_sweep"], strict=False)
    ]
    goal = math.ceil(args.tasks / 50)
    at_n = [calls for in_flight, calls in sweeps if in_flight >= args.tasks]
    complete = [(i, c) for i, c in sweeps if c]  # a sweep cut short by the time budget is the job's last
    times = [at.timestamp() for at, _, _ in m["calls"]]
    print()
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, SQLite (WAL), "
          f"gunicorn 2 × 4 threads (web + simulator), qcluster {args.workers} workers")  # fmt: skip
    print(f"tasks: {len(m['tasks'])} {states}; poll jobs: {len(m['reports'])}; sweeps: {len(sweeps)}")
    print(
        f"task_results calls per sweep with ≥ {args.tasks} in flight: {min(at_n, default=0)}–{max(at_n, default=0)}"
        f" over {len(at_n)} sweeps (goal {goal}); sweeps making ⌈in flight / 50⌉ calls: "
        f"{sum(c == math.ceil(i / 50) for i, c in complete)} of {len(complete)}"
    )
    print(
        f"task_results calls: {len(times)}, answered 429: {sum(s == 429 for _, s, _ in m['calls'])}, "
        f"most ids in one call: {max((ids or 0 for _, _, ids in m['calls']), default=0)}; "
        f"highest count in any one-second window: {busiest_second(times)} (goal ≤ 6)"
    )
    for label, values in (("all tasks", delays), ("steady phase", steady_delays)):
        if values:
            print(
                f"finish → done ({label}, {len(values)}): median {statistics.median(values):.2f} s, "
                f"p95 {percentile(values, 0.95):.2f} s, max {max(values):.2f} s (goal median ≤ 2 s, p95 ≤ 5 s)"
            )
    for failure in m["failures"]:
        print(f"FAILED JOB: {failure}")
    last_ready = max(ready.values())
    print(f"the last task was done {m['all_done_at'] - last_ready:.1f} s after the vendor finished it (±0.5 s)")
    if args.mirror:
        stored = f"images stored: {m['images_stored']} of {m['images']}"
        if m["mirrored_at"]:
            print(f"{stored}, the last {m['mirrored_at'] - last_ready:.1f} s after the vendor finished the last task")
        else:
            print(f"{stored} (not all within the time limit)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--images", type=int, default=2, help="images per task (n_images)")
    parser.add_argument("--first", type=float, default=20.0, help="seconds until the first task finishes")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which the tasks finish")
    parser.add_argument("--workers", type=int, default=2, help="qcluster workers")
    parser.add_argument("--budget", type=float, default=120.0, help="a poll job's time budget (seconds)")
    parser.add_argument("--steady", type=float, default=0.0, help="keep N in flight for this many seconds")
    parser.add_argument("--mirror", action="store_true", help="download every image (off: states only)")
    parser.add_argument("--timeout", type=float, default=120.0, help="extra seconds to wait for the end")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
