#!/usr/bin/env python3
"""The two commands of README.md. Needs only Python 3.11+ (standard library) to start.

python3 dev.py start   # set up everything, then run the dashboard (web + worker + simulator) on :8000
python3 dev.py test    # set up everything, then run the whole test suite (extra args go to pytest)

`start` runs the product as a team would on one machine: no debug pages, static files collected, a secret key
made once and kept in .local/ (git-ignored). `start --dev` runs Django's development server in debug mode.
"""

import argparse
import base64
import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCAL = ROOT / ".local"  # this checkout's own secrets (git-ignored)
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


# The key settings.py derives with DEBUG=1 from its development SECRET_KEY: kept as a second (read-only) key, so
# credentials stored by an earlier `start` can still be read; everything new is written with the generated key.
_OLD_DEV_SECRET = "dev-insecure-secret-key-do-not-use-in-production"
_OLD_DEV_CREDENTIALS_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(f"credentials:{_OLD_DEV_SECRET}".encode()).digest()
).decode()


def local_secret(name: str, make) -> str:
    """A secret made once for this checkout and kept in .local/<name> (readable by its owner only)."""
    path = LOCAL / name
    if not path.exists():
        LOCAL.mkdir(exist_ok=True)
        (LOCAL / ".gitignore").write_text("*\n")  # never committed, whatever the checkout's own .gitignore says
        path.write_text(make() + "\n")
        if os.name != "nt":
            path.chmod(0o600)
    return path.read_text().strip()


def start_env(*, port: int, dev: bool, environ=None) -> dict:
    """The environment of the web server and the worker. The product: DEBUG=0, the generated secrets, the hosts
    of this machine, plain-http cookies (no TLS on a local run); --dev: DEBUG=1. What is set in the
    environment already wins (a DATABASE_URL, a real MIAOHUA_API_BASE, even the secrets)."""
    environ = dict(os.environ if environ is None else environ)
    env = {
        "SECRET_KEY": local_secret("secret_key", lambda: secrets.token_urlsafe(50)),
        "CREDENTIALS_KEY": ",".join(
            [local_secret("credentials_key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()),
             _OLD_DEV_CREDENTIALS_KEY]
        ),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,[::1]",
        "SECURE_COOKIES": "0",  # http://127.0.0.1: a secure-only cookie would never come back
        "SITE_HTTPS": "0",  # no redirect to https, no HSTS, on a plain-http local run
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        **environ,
        "DEBUG": "1" if dev else "0",
        "PYTHONUNBUFFERED": "1",
    }
    if "MIAOHUA_API_BASE" not in environ:
        env["MIAOHUA_SIMULATOR_BASE"] = f"http://127.0.0.1:{port}/simulator/api/v1b/"
    return env


def web_command(*, port: int, dev: bool) -> list:
    if dev or os.name == "nt" or not (BIN / "gunicorn").exists():
        return [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    return [BIN / "gunicorn", "miaohua_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"]


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when this process dies, even by SIGKILL (no server left holding the port)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def supervise(commands: list[list], *, env: dict, stop_seconds: float = 40) -> int:
    """Run the commands side by side until one stops, Ctrl-C, or SIGTERM (or SIGHUP); then stop them all
    (SIGTERM, then SIGKILL after ``stop_seconds``) and wait for them. Returns 0 on a requested stop."""
    stopping = []

    def request_stop(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, request_stop) for sig in _stop_signals()}
    procs = []
    try:
        for command in commands:
            kwargs = {"preexec_fn": _die_with_parent} if sys.platform.startswith("linux") else {}
            procs.append(subprocess.Popen([str(a) for a in command], cwd=ROOT, env=env, **kwargs))
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("A process stopped unexpectedly; stopping the other one.", file=sys.stderr, flush=True)
        code = 1
    except KeyboardInterrupt:
        print()
        say("Stopping")
        code = 0
    finally:
        for sig in previous:  # a second Ctrl-C or SIGTERM no longer interrupts the stopping itself
            signal.signal(sig, signal.SIG_IGN)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + stop_seconds  # the worker lets its running calls finish (WORKERS_STOP_SECONDS)
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _stop_signals() -> list:
    names = ["SIGINT", "SIGTERM", "SIGHUP"]
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


def start(args) -> None:
    ensure_venv("")
    env = start_env(port=args.port, dev=args.dev)
    say("Migrating the database")
    manage("migrate", "--noinput", env=env)
    manage("setup_demo", env=env)
    if not args.dev:
        say("Collecting the static files")
        manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    mode = "in debug mode (--dev)" if args.dev else "(add --dev for Django's debug mode)"
    say(f"Starting the web server on http://127.0.0.1:{args.port} {mode} and a background worker (Ctrl-C stops both)")
    sys.exit(supervise([web_command(port=args.port, dev=args.dev), [PY, "manage.py", "qcluster"]], env=env))


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


CJK_FONT_GLOBS = ("*CJK*", "wqy-*", "DroidSansFallback*", "SourceHan*", "uming*", "ukai*")


def ensure_cjk_font() -> None:
    """Chinese pages in the browser tests (and the simulator's Chinese labels) need a font with Chinese in it; on a
    Debian machine run as root one is installed (fonts-wqy-microhei, 5 MB), elsewhere a note says what is missing."""
    fonts = Path("/usr/share/fonts")
    if os.environ.get("MIAOHUA_SIMULATOR_CJK_FONT") or any(
        next(fonts.rglob(pattern), None) for pattern in CJK_FONT_GLOBS if fonts.is_dir()
    ):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("Installing a Chinese font for the browser tests (apt-get install fonts-wqy-microhei)")
        run("apt-get", "update", "-qq")
        quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run("apt-get", "install", "-y", "-qq", "fonts-wqy-microhei", env=quiet)
        return
    say("No Chinese font found: Chinese pages in browser screenshots show boxes (apt-get install fonts-wqy-microhei)")


def test(args, extra) -> None:
    ensure_venv("test")
    ensure_chromium()
    ensure_cjk_font()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    say("Running the test suite" + (f" on {env['DATABASE_URL'].split('@')[-1]}" if env.get("DATABASE_URL") else ""))
    code = subprocess.run([PY, "-m", "pytest", *extra], cwd=ROOT, env=env).returncode
    sys.exit(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="set up and run the dashboard with the simulator")
    p_start.add_argument("--port", type=int, default=8000, help="the port of the web server (default 8000)")
    p_start.add_argument("--dev", action="store_true", help="Django's development server in debug mode")
    sub.add_parser("test", help="set up and run the whole test suite; further arguments go to pytest")
    args, extra = parser.parse_known_args()
    if args.command == "start":
        start(args)
    else:
        test(args, extra)


if __name__ == "__main__":
    main()
