#!/usr/bin/env python3
"""The two commands of README.md. Needs only Python 3.11+ (standard library) to start.

python3 dev.py start   # set up everything, then run the dashboard (web + worker + simulator) on :8000
python3 dev.py test    # set up everything, then run the whole test suite (extra args go to pytest)
"""

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def run(*args, **kwargs) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kwargs)


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit("Miaohua Studio needs Python 3.11 or newer.")
    if not PY.exists():
        say("Creating the virtual environment in .venv")
        run(sys.executable, "-m", "venv", VENV)
        run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    # Re-install only when pyproject.toml changed since the last install of these extras.
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras or 'runtime'}"
    if not stamp.exists() or stamp.read_text() != digest:
        say(f"Installing Miaohua Studio{' with ' + extras if extras else ''} into .venv")
        run(PY, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]" if extras else ".")
        stamp.write_text(digest)


def manage(*args, env=None) -> None:
    run(PY, ROOT / "manage.py", *args, env=env)


def start(args) -> None:
    ensure_venv("")
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1"), "PYTHONUNBUFFERED": "1"}
    if "MIAOHUA_API_BASE" not in os.environ:
        env["MIAOHUA_SIMULATOR_BASE"] = f"http://127.0.0.1:{args.port}/simulator/api/v1b/"
    say("Migrating the database")
    manage("migrate", "--noinput", env=env)
    manage("setup_demo", env=env)
    say(f"Starting the web server on http://127.0.0.1:{args.port} and a background worker (Ctrl-C stops both)")
    procs = [
        subprocess.Popen([PY, "manage.py", "runserver", f"127.0.0.1:{args.port}", "--noreload"], cwd=ROOT, env=env),
        subprocess.Popen([PY, "manage.py", "qcluster"], cwd=ROOT, env=env),
    ]
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a SIGTERM stops both, as Ctrl-C does
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        sys.exit("A process stopped unexpectedly; stopping the other one.")
    except KeyboardInterrupt:
        print()
        say("Stopping")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=40)  # the worker lets its running calls finish (WORKERS_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                p.kill()


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium (never a downloaded browser build)."""
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if Path(path).exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("Installing Chromium for the browser tests (apt-get install chromium)")
        run("apt-get", "update", "-qq")
        run("apt-get", "install", "-y", "-qq", "chromium", env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return
    sys.exit(
        f"The browser tests need Chromium at {path}. Install it (Debian/Ubuntu: sudo apt-get install chromium) "
        "or set CHROMIUM_PATH to a Chromium binary."
    )


def test(args, extra) -> None:
    ensure_venv("test")
    ensure_chromium()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    say("Running the test suite" + (f" on {env['DATABASE_URL'].split('@')[-1]}" if env.get("DATABASE_URL") else ""))
    code = subprocess.run([PY, "-m", "pytest", *extra], cwd=ROOT, env=env).returncode
    sys.exit(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="set up and run the dashboard with the simulator")
    p_start.add_argument("--port", type=int, default=8000)
    sub.add_parser("test", help="set up and run the whole test suite; further arguments go to pytest")
    args, extra = parser.parse_known_args()
    if args.command == "start":
        start(args)
    else:
        test(args, extra)


if __name__ == "__main__":
    main()
