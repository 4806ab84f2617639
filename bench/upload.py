#!/usr/bin/env python3
"""Benchmark of dataset uploads through the dashboard: N images of 4–5 MB each, the way the dataset page sends
them (one POST per file, 3 at a time, then "send"), then the worker sends them to Miaohua in batches.

    .venv/bin/python bench/upload.py                 # 10 files, then 100 files (a fresh installation each)
    .venv/bin/python bench/upload.py --files 100     # one run

Each run builds a throw-away installation in a temporary directory (its own SQLite file and media folder) and
starts three processes: the dashboard (gunicorn, 1 worker × 4 threads), a django-q2 cluster
(`manage.py qcluster`), and the simulator as the vendor in a gunicorn of its own (so its memory, which holds
each upload batch whole, is not counted as ours). The real path is measured: login, dataset creation, the
upload view (files streamed to temporary files, checked, moved into storage), the sender job (thumbnails,
upload_imgs streamed from storage in 64 KB pieces, dataset / dataset/add_images).

It reports, per run: the time to get every file to the dashboard, the time until Miaohua holds them all, and
the peak resident memory (VmHWM) of the dashboard's web worker and of the busiest qcluster process, with
their resident memory just before the upload for comparison. The goal: memory that does not grow with the
number of files (the upload is streamed, never held whole).
"""

import argparse
import io
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from common import free_port, login, stop_processes, wait_for
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
MB = 1024 * 1024


def make_images(folder: Path, count: int, seed: int = 5) -> list[Path]:
    """JPEGs of noise (so they do not compress) between 4 and 5 MB, each different."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    side = 2000
    for number in range(count):
        while True:
            noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
            buffer = io.BytesIO()
            noise.save(buffer, "JPEG", quality=95)
            size = buffer.tell()
            if 4 * MB <= size <= 5 * MB - 64 * 1024:
                break
            side = int(side * (4.5 * MB / size) ** 0.5)
        path = folder / f"noise-{number:03d}.jpg"
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


def prepare(workdir: Path, vendor_port: int) -> dict:
    (workdir / "bench_settings.py").write_text(
        textwrap.dedent(
            f"""
            from miaohua_site.settings import *  # noqa: F403
            from miaohua_site.settings import LOGGING, Q_CLUSTER

            MEDIA_ROOT = {str(workdir / "media")!r}
            Q_CLUSTER = {{**Q_CLUSTER, "workers": 2, "timeout": 600, "retry": 660, "save_limit": 1000}}
            LOGGING = {{**LOGGING, "root": {{"handlers": ["console"], "level": "WARNING"}}}}
            MIAOHUA_READ_TIMEOUT = 120.0
            """
        )
    )
    return {
        **os.environ,
        "DEBUG": "1",
        "SECRET_KEY": "bench-upload-secret",  # the simulator signs its links with it: every process alike
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "CACHE_DIR": str(workdir / "cache"),
        "MIAOHUA_SIMULATOR_BASE": f"http://127.0.0.1:{vendor_port}/simulator/api/v1b/",
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        "TMPDIR": str(workdir / "tmp"),
    }


# --- Memory, from /proc (Linux) ----------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident) in bytes."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return values


def tree_memory(pid: int) -> dict[int, dict[str, int]]:
    return {p: memory(p) for p in [pid, *descendants(pid)] if memory(p)}


# --- One run -----------------------------------------------------------------------------------------------


def csrf(session: requests.Session, page_url: str) -> str:
    page = session.get(page_url)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def states(db: Path, dataset_id: int) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        rows = conn.execute(
            "SELECT state, COUNT(*) FROM training_datasetimage WHERE dataset_id = ? GROUP BY state", (dataset_id,)
        ).fetchall()
    return dict(rows)


def one_run(count: int, images: list[Path], keep: bool) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    (workdir / "tmp").mkdir()
    web_port, vendor_port = free_port(), free_port()
    env = prepare(workdir, vendor_port)
    base = f"http://127.0.0.1:{web_port}"
    procs: dict[str, subprocess.Popen] = {}
    logs = {name: open(workdir / f"{name}.log", "w") for name in ("web", "vendor", "worker")}
    try:
        subprocess.run([PY, ROOT / "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run([PY, ROOT / "manage.py", "setup_demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        for name, port in (("web", web_port), ("vendor", vendor_port)):
            procs[name] = subprocess.Popen(
                [GUNICORN, "miaohua_site.wsgi", "-b", f"127.0.0.1:{port}", "-k", "gthread", "-w", "1",
                 "--threads", "4", "--timeout", "300", "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=logs[name], stderr=subprocess.STDOUT,
            )  # fmt: skip
        procs["worker"] = subprocess.Popen(
            [PY, ROOT / "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT
        )
        wait_for(base + "/accounts/login/")
        wait_for(f"http://127.0.0.1:{vendor_port}/accounts/login/")

        session = login(base)
        token = csrf(session, base + "/training/datasets/new/")
        created = session.post(
            base + "/training/datasets/new/",
            data={"csrfmiddlewaretoken": token, "name": f"Noise x{count}", "description": "bench"},
            headers={"Referer": base + "/training/datasets/new/"},
        )
        dataset_id = int(re.search(r"/training/datasets/(\d+)/", created.url).group(1))
        token = session.cookies.get("csrftoken")
        headers = {"X-CSRFToken": token, "Accept": "application/json", "Referer": created.url}
        time.sleep(1.0)  # let the processes settle before taking the "before" figures
        before = {name: tree_memory(proc.pid) for name, proc in procs.items()}

        def send(path: Path) -> str:
            with path.open("rb") as handle:
                answer = session.post(
                    f"{base}/training/datasets/{dataset_id}/images/upload/",
                    files={"images": (path.name, handle, "image/jpeg")},
                    data={"more": "1"},
                    headers=headers,
                    timeout=120,
                )
            answer.raise_for_status()
            return answer.json()["files"][0]["state"]

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=3) as pool:  # as the dataset page does
            received = list(pool.map(send, images[:count]))
        session.post(f"{base}/training/datasets/{dataset_id}/images/send/", headers=headers).raise_for_status()
        uploaded = time.monotonic()
        assert received.count("waiting") == count, received
        db = workdir / "bench.sqlite3"
        deadline = time.monotonic() + 60 + count * 10
        while True:
            now_states = states(db, dataset_id)
            if now_states.get("added", 0) + now_states.get("failed", 0) + now_states.get("refused", 0) >= count:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"not all images reached the vendor in time: {now_states}")
            time.sleep(0.25)
        finished = time.monotonic()
        after = {name: tree_memory(proc.pid) for name, proc in procs.items()}
        total_bytes = sum(path.stat().st_size for path in images[:count])
        return {
            "files": count,
            "megabytes": total_bytes / MB,
            "states": now_states,
            "to_dashboard": uploaded - started,
            "total": finished - started,
            "before": before,
            "after": after,
        }
    finally:
        stop_processes(procs.values(), timeout=20)
        for log in logs.values():
            log.close()
        if keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def peak(tree: dict[int, dict[str, int]], key: str = "VmHWM") -> int:
    return max((values.get(key, 0) for values in tree.values()), default=0)


def busiest(before: dict[int, dict[str, int]], after: dict[int, dict[str, int]]) -> tuple[int, int]:
    """(RSS before, peak) of the process of the tree whose peak rose most above its RSS before the upload."""
    pairs = [(before.get(pid, {}).get("VmRSS", 0), values.get("VmHWM", 0)) for pid, values in after.items()]
    return max(pairs, key=lambda pair: pair[1] - pair[0], default=(0, 0))


def report(results: list[dict], verbose: bool = False) -> None:
    cpu = "unknown CPU"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    print(
        f"\nMachine: {os.cpu_count()} cores ({cpu}), {mem_kb / MB:.0f} GB RAM, {platform.system()} {platform.release()}"
    )
    print(f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; command: {' '.join(sys.argv)}\n")
    print(
        "| files | data | to the dashboard | until all at Miaohua | web process RSS before → peak "
        "| qcluster RSS before → peak (busiest process) | vendor (simulator) peak |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        web_before, web_peak = busiest(r["before"]["web"], r["after"]["web"])
        worker_before, worker_peak = busiest(r["before"]["worker"], r["after"]["worker"])
        rate = r["megabytes"] / r["to_dashboard"]
        print(
            f"| {r['files']} | {r['megabytes']:.0f} MB | {r['to_dashboard']:.1f} s ({rate:.0f} MB/s) "
            f"| {r['total']:.1f} s | {web_before / MB:.0f} → {web_peak / MB:.0f} MB "
            f"| {worker_before / MB:.0f} → {worker_peak / MB:.0f} MB | {peak(r['after']['vendor']) / MB:.0f} MB |"
        )
        print(f"<!-- states: {r['states']} -->")
        if verbose:
            for name in ("web", "worker", "vendor"):
                for pid, values in r["after"][name].items():
                    before = r["before"][name].get(pid, {}).get("VmRSS", 0)
                    print(f"    {name} pid {pid}: RSS before {before / MB:.0f} MB, peak {values['VmHWM'] / MB:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[10, 100], help="files per run (one run each)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary installations")
    parser.add_argument("--verbose", action="store_true", help="memory of every process")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-upload-images-"))
    try:
        print(f"Making {max(args.files)} JPEGs of 4–5 MB…", flush=True)
        images = make_images(folder, max(args.files))
        results = []
        for count in args.files:
            print(f"Run with {count} files…", flush=True)
            results.append(one_run(count, images, args.keep))
        report(results, args.verbose)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
