"""Settings come from the environment; a production setting that is missing stops start-up, naming it."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "a-production-secret-key-for-tests-0123456789-abcdefghijklmnop"


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
    result = _start(DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "CREDENTIALS_KEY" in result.stderr


def test_it_refuses_to_start_in_production_without_allowed_hosts():
    result = _start(DEBUG="0", SECRET_KEY=STRONG_KEY, CREDENTIALS_KEY="k")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_it_refuses_the_placeholder_secret_key_of_the_example():
    result = _start(
        DEBUG="0", SECRET_KEY="change-me-to-a-long-random-string", CREDENTIALS_KEY="k", ALLOWED_HOSTS="example.com"
    )
    assert result.returncode != 0
    assert "SECRET_KEY is still the example's placeholder" in result.stderr


def test_it_refuses_a_weak_secret_key():
    result = _start(DEBUG="0", SECRET_KEY="s" * 60, CREDENTIALS_KEY="k", ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_it_names_a_malformed_boolean():
    result = _start(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be 1 or 0" in result.stderr


def test_it_starts_for_development_with_nothing_set():
    result = _start(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def _settings(**env):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'sim': s.MIAOHUA_SIMULATOR, 'base': s.MIAOHUA_API_BASE, "
        "'task': s.MIAOHUA_SIMULATOR_TASK_SECONDS, 'train': s.MIAOHUA_SIMULATOR_TRAIN_SECONDS, "
        "'engine': s.DATABASES['default']['ENGINE'], 'db': s.DATABASES['default']['NAME'], "
        "'q': sorted(k for k in ('orm', 'redis') if k in s.Q_CLUSTER)}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MIAOHUA_", "DATABASE_URL", "REDIS_URL"))}
    base.update(DEBUG="1", DJANGO_SETTINGS_MODULE="miaohua_site.settings", **env)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr

    return json.loads(result.stdout)


def test_by_default_it_runs_on_the_simulator_with_sqlite_and_the_orm_broker():
    s = _settings()
    assert s["sim"] is True and s["base"] == "http://127.0.0.1:8000/simulator/api/v1b/"
    assert (s["task"], s["train"]) == (4.0, 60.0)
    assert s["engine"] == "django.db.backends.sqlite3" and s["db"].endswith("db.sqlite3")
    assert s["q"] == ["orm"]


def test_a_real_api_base_turns_the_simulator_off():
    s = _settings(MIAOHUA_API_BASE="https://miaohua.example.com/api/v1b/")
    assert s["sim"] is False and s["base"] == "https://miaohua.example.com/api/v1b/"


def test_postgres_and_redis_come_from_their_urls():
    s = _settings(DATABASE_URL="postgres://studio@db.example:5432/studio", REDIS_URL="redis://127.0.0.1:6379/3")
    assert s["engine"] == "django.db.backends.postgresql" and s["db"] == "studio"
    assert s["q"] == ["redis"]


def _email_backend(**env):
    code = "import django; django.setup(); from django.conf import settings as s; print(s.EMAIL_BACKEND)"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DEBUG"))}
    base.update(DJANGO_SETTINGS_MODULE="miaohua_site.settings", **env)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_email_backend_comes_from_the_environment():
    assert _email_backend(DEBUG="1") == "django.core.mail.backends.console.EmailBackend"
    production = {"DEBUG": "0", "SECRET_KEY": STRONG_KEY, "CREDENTIALS_KEY": "k", "ALLOWED_HOSTS": "example.com"}
    assert _email_backend(**production) == "django.core.mail.backends.smtp.EmailBackend"
    chosen = _email_backend(DEBUG="1", EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend")
    assert chosen == "django.core.mail.backends.filebased.EmailBackend"
