"""Settings for the test suite: the real settings, with secrets for tests and django-q2 run inline."""

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("CREDENTIALS_KEY", "7kCX3yurBAbjTbEzDrgikGLg04TqOYz3SbgdjAiOf0U=")
os.environ.setdefault("ALLOWED_HOSTS", "*")
os.environ.setdefault("MIAOHUA_SIMULATOR_TASK_SECONDS", "0.3")
os.environ.setdefault("MIAOHUA_SIMULATOR_TRAIN_SECONDS", "2")

from miaohua_site.settings import *  # noqa: E402,F403
from miaohua_site.settings import CACHES, DATABASES, Q_CLUSTER, REDIS_URL  # noqa: E402

DEBUG = False
MIAOHUA_SIMULATOR = True
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if not REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
        "sessions": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sessions"},
    }
else:  # a key prefix of its own per run: nothing cached by an earlier run is read
    RUN = f"test-{uuid.uuid4().hex[:12]}"
    CACHES = {alias: {**config, "KEY_PREFIX": f"{RUN}-{alias}"} for alias, config in CACHES.items()}
# What a test leaves in a shared Redis (each test has its own key prefix: tests/conftest.py) expires soon.
CATALOG_STALE_SECONDS = 3600
SESSION_COOKIE_AGE = 3600
# The SQLite test database is a file (not memory), so a real worker process can share it (tests/e2e/).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.mkdtemp(prefix="miaohua-test-db-")) / "test.sqlite3")}

# Each run writes its files to a fresh folder: nothing leaks from one run to the next.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="miaohua-test-media-"))
atexit.register(shutil.rmtree, MEDIA_ROOT, True)
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Static files straight from the apps' folders (no collectstatic in tests).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
