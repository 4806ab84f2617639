"""What the benchmark scripts share: a free port, waiting for a server, signing in as the demo member."""

import re
import socket
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
