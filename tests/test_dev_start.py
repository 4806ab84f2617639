"""`python3 dev.py start`: the product as a team runs it on one machine (no debug pages, a secret key made once
and kept in a git-ignored file, static files collected), the demo login left alone on a restart, and a SIGTERM
that stops the web server and the worker (nothing left holding the port)."""

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dev(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "LOCAL", tmp_path / ".local")
    return module


def test_start_runs_the_product_with_a_secret_made_once_and_kept(dev, tmp_path):
    env = dev.start_env(port=8765, dev=False, environ={"PATH": "/usr/bin"})
    again = dev.start_env(port=8765, dev=False, environ={})

    assert env["DEBUG"] == "0" and env["SECURE_COOKIES"] == "0" and env["SECURE_SSL_REDIRECT"] == "0"
    assert env["SITE_HTTPS"] == "0"
    assert len(env["SECRET_KEY"]) >= 50 and env["SECRET_KEY"] == again["SECRET_KEY"]  # made once, then kept
    assert env["SECRET_KEY"] == (tmp_path / ".local" / "secret_key").read_text().strip()
    assert env["CREDENTIALS_KEY"] == again["CREDENTIALS_KEY"]
    assert "127.0.0.1" in env["ALLOWED_HOSTS"].split(",")
    assert env["MIAOHUA_SIMULATOR_BASE"] == "http://127.0.0.1:8765/simulator/api/v1b/"
    assert (tmp_path / ".local" / ".gitignore").read_text() == "*\n"
    if os.name != "nt":
        assert (tmp_path / ".local" / "secret_key").stat().st_mode & 0o077 == 0
    assert dev.start_env(port=8765, dev=True, environ={})["DEBUG"] == "1"  # --dev
    assert dev.start_env(port=1, dev=False, environ={"SECRET_KEY": "mine" * 20})["SECRET_KEY"] == "mine" * 20


def test_the_local_secrets_are_ignored_by_git():
    assert "/.local/" in (ROOT / ".gitignore").read_text().splitlines()


def test_start_collects_the_static_files_and_serves_no_debug_pages():
    source = (ROOT / "dev.py").read_text()
    assert '"collectstatic", "--noinput"' in source
    assert "gunicorn" in source


def test_the_generated_credentials_key_reads_what_an_earlier_start_stored(dev):
    """Databases of earlier starts hold credentials under the key DEBUG=1 derived: still readable."""
    import base64
    import hashlib

    from cryptography.fernet import Fernet

    env = dev.start_env(port=8000, dev=False, environ={})
    old = base64.urlsafe_b64encode(
        hashlib.sha256(b"credentials:dev-insecure-secret-key-do-not-use-in-production").digest()
    ).decode()
    stored = Fernet(old).encrypt(b"demo").decode()
    with override_settings(CREDENTIALS_KEY=env["CREDENTIALS_KEY"]):
        from miaohua_site.accounts import crypto

        assert crypto.decrypt(stored) == "demo"
        assert Fernet(env["CREDENTIALS_KEY"].split(",")[0]).decrypt(crypto.encrypt("new").encode()) == b"new"


@pytest.mark.django_db
def test_a_restart_leaves_the_demo_member_signed_in(django_user_model):
    call_command("setup_demo")
    client = Client()
    signed_in = client.post("/accounts/login/", {"username": "demo", "password": "demo-studio"})  # as a person does
    assert signed_in.status_code == 302
    assert client.get("/generate/").status_code == 200

    call_command("setup_demo")  # what the next `dev.py start` does

    assert client.get("/generate/").status_code == 200  # still signed in
    user = django_user_model.objects.get(username="demo")
    user.set_password("changed-by-me-123")
    user.save()
    call_command("setup_demo")
    assert django_user_model.objects.get(username="demo").check_password("changed-by-me-123")
    call_command("setup_demo", reset=True)
    assert django_user_model.objects.get(username="demo").check_password("demo-studio")


SUPERVISOR = textwrap.dedent(
    """
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("dev", sys.argv[1])
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    child = [sys.executable, "-c", "import os, sys, time; print(os.getpid(), flush=True); time.sleep(120)"]
    sys.exit(dev.supervise([child, child], env=None, stop_seconds=5))
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by anyone) is gone as far as the port is concerned
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_sigterm_or_kill_of_start_stops_the_web_server_and_the_worker(tmp_path, how):
    script = tmp_path / "supervise.py"
    script.write_text(SUPERVISOR)
    runner = subprocess.Popen(
        [sys.executable, str(script), str(ROOT / "dev.py")], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    children = [int(runner.stdout.readline()), int(runner.stdout.readline())]
    assert all(_alive(pid) for pid in children)

    runner.send_signal(how)
    if how == signal.SIGTERM:
        assert runner.wait(timeout=10) == 0
    else:
        runner.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children), "a child outlived dev.py start"
