"""What the benchmark scripts share: a free port, waiting for a server, signing in as the demo member, stopping
the servers they started, statements on the PostgreSQL server."""

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered at {url} within {seconds:g} s")


def login(base: str, username: str = "demo", password: str = "demo-studio") -> requests.Session:
    """A session signed in through the login form, as a browser does."""
    session = requests.Session()
    page = session.get(base + "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        base + "/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        headers={"Referer": base + "/accounts/login/"},
    )
    answer.raise_for_status()
    if "/accounts/login/" in answer.url:
        raise SystemExit(f"could not sign in as {username}")
    return session


PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def stop_processes(procs, *, timeout: float = 40) -> None:
    """SIGTERM to every process still running, then wait for each (killed after ``timeout`` seconds)."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


def pg_admin(*statements: str) -> None:
    """Run statements (CREATE / DROP DATABASE) on the PostgreSQL server, outside any transaction."""
    code = (
        f"import psycopg; c = psycopg.connect({PG_SERVER + '/postgres'!r}, autocommit=True)\n"
        f"for s in {list(statements)!r}: c.execute(s)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
