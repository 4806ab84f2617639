"""Settings come from the environment; a production setting that is missing stops start-up, naming it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _start(**env):
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECRET_KEY", "CREDENTIALS_KEY", "ALLOWED_HOSTS", "DEBUG"))
    }
    base.update(env)
    base["DJANGO_SETTINGS_MODULE"] = "miaohua_site.settings"
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_in_production_without_secret_key():
    result = _start(DEBUG="0", CREDENTIALS_KEY="x", ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_refuses_to_start_in_production_without_credentials_key():
    result = _start(DEBUG="0", SECRET_KEY="s" * 50, ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "CREDENTIALS_KEY" in result.stderr


def test_it_refuses_to_start_in_production_without_allowed_hosts():
    result = _start(DEBUG="0", SECRET_KEY="s" * 50, CREDENTIALS_KEY="k")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_it_names_a_malformed_boolean():
    result = _start(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be 1 or 0" in result.stderr


def test_it_starts_for_development_with_nothing_set():
    result = _start(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
