"""`manage.py check --deploy` with the production environment of docs/DEPLOY.md prints no warning at all."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# docs/DEPLOY.md, "The least a production environment sets" (with made-up secrets).
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "Zq3v9-kL0pX2mW8rT5yB1nC7dF4gH6jK0sA9eR2uI5oP8lM3zX7cV1bN4qW6tY",
    "CREDENTIALS_KEY": "7kCX3yurBAbjTbEzDrgikGLg04TqOYz3SbgdjAiOf0U=",
    "ALLOWED_HOSTS": "studio.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://studio.example.com",
    "SITE_HTTPS": "1",
}


def check_deploy(tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    base.update(
        DJANGO_SETTINGS_MODULE="miaohua_site.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CACHE_DIR=str(tmp_path / "cache"),
        MEDIA_ROOT=str(tmp_path / "media"),
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_production_environment_passes_check_deploy_without_a_warning(tmp_path):
    result = check_deploy(tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "WARNINGS" not in result.stderr + result.stdout
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_the_documented_environment_is_this_one():
    deploy = (ROOT / "docs" / "DEPLOY.md").read_text()
    for name in PRODUCTION:
        assert f"{name}=" in deploy, name


def test_without_https_the_check_names_what_is_missing(tmp_path):
    result = check_deploy(tmp_path, **{**PRODUCTION, "SITE_HTTPS": "0"})
    assert "security.W004" in result.stderr and "security.W008" in result.stderr
