#!/usr/bin/env python3
"""Benchmark of the pages with a slow vendor: every catalog call to Miaohua takes 5 s, the cache is cold.

    .venv/bin/python bench/pages.py                  # 10 cold Generate pages, then 5 rounds of 8 at once
    .venv/bin/python bench/pages.py --slow 5 --cold 10 --rounds 5 --pages 8

It builds a throw-away installation in a temporary directory (its own SQLite file, cache folder and media
folder) and starts three processes: the simulator as the vendor in a gunicorn of its own, with every catalog
call slowed (MIAOHUA_SIMULATOR_FAULTS=slow_seconds=5,endpoints=models/base+…); the dashboard on gunicorn
(3 workers × 4 threads, as docs/DEPLOY.md suggests for a small team); and a django-q2 cluster
(`manage.py qcluster`, 2 workers) that refreshes the catalogs. The demo member has 200 tasks of history.

It measures, with a cold cache (the catalog entries deleted, as after a restart or a cache wipe):

1. the Generate page's answer time, one page at a time, and how long until its pickers are filled in (the
   bench polls the pickers' URLs every second, as the page's placeholders do);
2. eight Generate pages loading at once (each then polling its pickers like a browser) while History is
   requested every 0.2 s: History's answer time, and the Generate pages' under that load.

Goal: Generate ≤ 2 s, History ≤ 1 s. Figures are median / 95th percentile / max.
"""

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import requests
from common import free_port, login, stop_processes, wait_for

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
CATALOG_CALLS = "models/base+models/lora+models/private+cn/artist+cn/opensource+get_generation_form+get_train_form"
PICKERS = ["models", "loras", "sizes", "controlnets"]


def prepare(workdir: Path, vendor_port: int) -> dict:
    (workdir / "bench_settings.py").write_text(
        textwrap.dedent(
            """
            from miaohua_site.settings import *  # noqa: F403
            from miaohua_site.settings import LOGGING

            LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}
            """
        )
    )
    return {
        **os.environ,
        "DEBUG": "1",
        "SECRET_KEY": "bench-pages-secret",  # the simulator signs its links with it: every process alike
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "CACHE_DIR": str(workdir / "cache"),
        "MEDIA_ROOT": str(workdir / "media"),
        "MIAOHUA_SIMULATOR_BASE": f"http://127.0.0.1:{vendor_port}/simulator/api/v1b/",
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }


def timed_get(session: requests.Session, url: str, **kwargs) -> tuple[float, requests.Response]:
    started = time.monotonic()
    answer = session.get(url, timeout=120, **kwargs)
    return time.monotonic() - started, answer


def make_cold(cache_dir: Path) -> None:
    """Delete every entry of the shared cache but the sessions (their own folder): the catalogs are cold."""
    for entry in cache_dir.glob("*.djcache"):
        entry.unlink(missing_ok=True)


def vendor_calls(db: Path, endpoint: str | None = None) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        if endpoint is None:
            return conn.execute("SELECT COUNT(*) FROM simulator_simapicall").fetchone()[0]
        query = "SELECT COUNT(*) FROM simulator_simapicall WHERE endpoint = ?"
        return conn.execute(query, (endpoint,)).fetchone()[0]


def load_generate(session: requests.Session, base: str, deadline: float = 60.0) -> dict:
    """One Generate page as a browser loads it: the page, then its placeholders' polls every second until each
    picker is in (286). Returns the page's answer time and when the last picker arrived."""
    started = time.monotonic()
    took, page = timed_get(session, base + "/generate/")
    page.raise_for_status()
    waiting = [name for name in PICKERS if f"/generate/pickers/{name}/" in page.text]
    while waiting and time.monotonic() - started < deadline:
        time.sleep(1.0)
        for name in list(waiting):
            answer = session.get(f"{base}/generate/pickers/{name}/", headers={"HX-Request": "true"}, timeout=60)
            if answer.status_code == 286:
                waiting.remove(name)
    return {"page": took, "filled": time.monotonic() - started, "cold": "Loading the model list" in page.text}


def figures(values: list[float]) -> str:
    if not values:
        return "–"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.2f} s / {p95:.2f} s / {ordered[-1]:.2f} s"


def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    web_port, vendor_port = free_port(), free_port()
    env = prepare(workdir, vendor_port)
    vendor_env = {**env, "MIAOHUA_SIMULATOR_FAULTS": f"slow_seconds={args.slow:g},endpoints={CATALOG_CALLS}"}
    base = f"http://127.0.0.1:{web_port}"
    db, cache_dir = workdir / "bench.sqlite3", workdir / "cache"
    procs: dict[str, subprocess.Popen] = {}
    logs = {name: open(workdir / f"{name}.log", "w") for name in ("web", "vendor", "worker")}
    try:
        subprocess.run([PY, ROOT / "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run([PY, ROOT / "manage.py", "setup_demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([PY, ROOT / "manage.py", "seed_history", "--tasks", "200", "--user", "demo"], cwd=ROOT,
                       env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        servers = {"web": (web_port, env, "3", "4"), "vendor": (vendor_port, vendor_env, "2", "12")}
        for name, (port, server_env, workers, threads) in servers.items():
            procs[name] = subprocess.Popen(
                [GUNICORN, "miaohua_site.wsgi", "-b", f"127.0.0.1:{port}", "-k", "gthread", "-w", workers,
                 "--threads", threads, "--timeout", "120", "--log-level", "warning"],
                cwd=ROOT, env=server_env, stdout=logs[name], stderr=subprocess.STDOUT,
            )  # fmt: skip
        procs["worker"] = subprocess.Popen(
            [PY, ROOT / "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT
        )
        wait_for(base + "/accounts/login/")
        wait_for(f"http://127.0.0.1:{vendor_port}/accounts/login/")
        sessions = [login(base) for _ in range(args.pages + 1)]
        history = sessions[-1]
        history.get(base + "/history/").raise_for_status()  # warm the processes' imports and templates
        time.sleep(2.0)  # let the cluster settle

        # 1. One cold Generate page at a time.
        cold = []
        for number in range(args.cold):
            make_cold(cache_dir)
            before = vendor_calls(db, "models/base")
            result = load_generate(sessions[0], base)
            result["refreshes"] = vendor_calls(db, "models/base") - before
            cold.append(result)
            took, filled = result["page"], result["filled"]
            print(f"  cold page {number + 1}: {took:.2f} s, pickers after {filled:.1f} s", flush=True)

        # 2. Eight cold Generate pages at once while History is asked every 0.2 s.
        history_times, loaded, refreshes = [], [], []
        for number in range(args.rounds):
            make_cold(cache_dir)
            before = vendor_calls(db, "models/base")
            done = threading.Event()
            round_results: list[dict] = []

            def one_page(session, round_results=round_results):
                round_results.append(load_generate(session, base))

            def ask_history(done=done):
                while not done.is_set():
                    took, answer = timed_get(history, base + "/history/")
                    answer.raise_for_status()
                    history_times.append(took)
                    time.sleep(0.2)

            asker = threading.Thread(target=ask_history)
            pages = [threading.Thread(target=one_page, args=(session,)) for session in sessions[: args.pages]]
            asker.start()
            for thread in pages:
                thread.start()
            for thread in pages:
                thread.join()
            done.set()
            asker.join()
            loaded.extend(round_results)
            refreshes.append(vendor_calls(db, "models/base") - before)
            slowest = max(r["page"] for r in round_results)
            print(f"  round {number + 1}: {len(round_results)} pages, slowest {slowest:.2f} s", flush=True)
        return {"cold": cold, "loaded": loaded, "history": history_times, "refreshes": refreshes}
    finally:
        stop_processes(procs.values(), timeout=20)
        for log in logs.values():
            log.close()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def report(results: dict, args) -> None:
    cpu = "unknown CPU"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = next((int(line.split()[1]) for line in meminfo if line.startswith("MemTotal")), 0)
    print(f"\nMachine: {os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GB RAM, {platform.system()}")
    print(f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; command: {' '.join(sys.argv)}")
    print(f"Every catalog call slowed by {args.slow:g} s; dashboard gunicorn 3 × 4 threads; qcluster 2 workers.\n")
    cold, loaded = results["cold"], results["loaded"]
    print("| measured | samples | median / p95 / max |")
    print("| --- | ---: | --- |")
    print(f"| Generate page, cold cache, one at a time | {len(cold)} | {figures([r['page'] for r in cold])} |")
    print(f"| … its pickers filled in (from the click) | {len(cold)} | {figures([r['filled'] for r in cold])} |")
    print(
        f"| Generate page, cold, {args.pages} at once ({args.rounds} rounds) | {len(loaded)} "
        f"| {figures([r['page'] for r in loaded])} |"
    )
    print(f"| … their pickers filled in | {len(loaded)} | {figures([r['filled'] for r in loaded])} |")
    print(f"| History meanwhile (every 0.2 s) | {len(results['history'])} | {figures(results['history'])} |")
    print(f"\nmodels/base calls (the worker's refresh) per cold page: {[r['refreshes'] for r in cold]}")
    print(f"models/base calls per round of {args.pages} pages at once: {results['refreshes']}")
    print(f"Pages that rendered cold (placeholders): {sum(r['cold'] for r in cold + loaded)} of {len(cold + loaded)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=float, default=5.0, help="seconds every catalog call takes at the vendor")
    parser.add_argument("--cold", type=int, default=10, help="cold Generate pages, one at a time")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of --pages Generate pages at once")
    parser.add_argument("--pages", type=int, default=8, help="Generate pages loading at once")
    parser.add_argument("--keep", action="store_true", help="keep the temporary installation (logs)")
    args = parser.parse_args()
    report(run(args), args)


if __name__ == "__main__":
    main()
