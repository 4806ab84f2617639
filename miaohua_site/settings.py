"""Miaohua Studio settings. Everything that differs between machines comes from the environment
(see .env.example); with DEBUG=0 the secrets are required and a missing one stops start-up."""

import base64
import hashlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from miaohua_site.env import check_secret_key, env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-secret-key-do-not-use-in-production", required=not DEBUG)
if not DEBUG:
    check_secret_key(SECRET_KEY)  # the placeholder of .env.example, or a weak key, stops start-up

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else None)
if not ALLOWED_HOSTS:
    env_str("ALLOWED_HOSTS", required=True)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Fernet key for stored upstream credentials. A development machine derives one from SECRET_KEY.
CREDENTIALS_KEY = env_str(
    "CREDENTIALS_KEY",
    base64.urlsafe_b64encode(hashlib.sha256(f"credentials:{SECRET_KEY}".encode()).digest()).decode(),
    required=not DEBUG,
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    "django_htmx",
    "csp",
    "django_q",
    "bootstrap",
    "miaohua_site.accounts",
    "miaohua_site.simulator",
    "miaohua_site.workers",
    "miaohua_site.audit",
    "team",
    "generation",
    "library",
    "training",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "miaohua_site.middleware.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the language: the cookie, else the browser's Accept-Language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "miaohua_site.accounts.middleware.MemberLanguageMiddleware",  # a signed-in member's chosen language wins
    "miaohua_site.audit.middleware.AuditRequestMiddleware",  # who and from where, for audit.record()
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "miaohua_site.middleware.RefuseNulMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a locked-out sign-in into the lockout page
]

ROOT_URLCONF = "miaohua_site.urls"
WSGI_APPLICATION = "miaohua_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% translate %} / {% blocktranslate %} and |stored_message in every template without a {% load %}.
            "builtins": ["django.templatetags.i18n", "miaohua_site.i18n_tags"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "miaohua_site.context_processors.studio",
                "generation.context_processors.queue",
                "team.context_processors.roles",
                "team.context_processors.quota_alerts",
            ],
        },
    },
]

# --- Database: SQLite file in the checkout by default, any DATABASE_URL otherwise (postgres:// via psycopg 3).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=env_int("DB_CONN_MAX_AGE", 0)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, workers and the poller share one file: WAL + busy timeout + IMMEDIATE avoid "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
# The simulator's own database (miaohua_site/simulator/db.py): unset, it keeps its tables in ours.
MIAOHUA_SIMULATOR_DATABASE_URL = env_str("MIAOHUA_SIMULATOR_DATABASE_URL")
if MIAOHUA_SIMULATOR_DATABASE_URL:
    DATABASES["simulator"] = dj_database_url.parse(MIAOHUA_SIMULATOR_DATABASE_URL)
    if DATABASES["simulator"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["simulator"]["OPTIONS"] = DATABASES["default"].get("OPTIONS") or {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
            "transaction_mode": "IMMEDIATE",
        }
    DATABASE_ROUTERS = ["miaohua_site.simulator.db.SimulatorRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "")  # several installations (or test runs) sharing one Redis

# One cache shared by every web and worker process (workers write the vendor catalogs, pages read them): Redis
# when REDIS_URL is set, else files on this machine (with an atomic add: miaohua_site/cache.py). Sessions have
# their own alias, so their entries never push catalogs out of a file cache (which culls at MAX_ENTRIES).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        },
        "sessions": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{CACHE_KEY_PREFIX}session",
        },
    }
else:
    CACHE_DIR = Path(env_str("CACHE_DIR", str(BASE_DIR / "var" / "cache")))
    CACHES = {
        "default": {
            "BACKEND": "miaohua_site.cache.FileBasedCache",
            "LOCATION": str(CACHE_DIR),
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 3000)},
        },
        "sessions": {
            "BACKEND": "miaohua_site.cache.FileBasedCache",
            "LOCATION": str(CACHE_DIR / "sessions"),
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 3000)},
        },
    }

# Sessions are read from the cache and written through to the database (a cache wipe logs nobody out): one
# query less on every request, the task card's poll above all. The cache is shared by all processes, so a
# logout or a new login is seen by every web worker at once.
SESSION_ENGINE = env_str("SESSION_ENGINE", "django.contrib.sessions.backends.cached_db")
SESSION_CACHE_ALIAS = "sessions"

# --- django-q2: all upstream work runs in its workers. ORM broker by default, Redis when REDIS_URL is set.
Q_CLUSTER = {
    "name": "miaohua",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": 300,
    "retry": 360,
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 500,
    "poll": 0.5,
    "label": "Background jobs",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (django-axes), on the product's sign-in page and on /admin/login/ alike: after
# AXES_FAILURE_LIMIT wrong passwords for one user name from one address, that pair is locked for
# AXES_COOLOFF_MINUTES (each further try starts the wait again). An admin unlocks it by deleting its row under
# Admin → Axes → Access attempts, or `manage.py axes_reset_username NAME`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "miaohua_site.accounts.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "miaohua_site.accounts.security.client_ip"
AXES_VERBOSE = False
# Proxies in front of the web server that append X-Forwarded-For (0: the visitor's address is REMOTE_ADDR).
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)

# The audit log (/team/audit/) keeps each event this many days; a daily job removes older ones.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365)
# Days an invitation link to join the team works (it works once).
TEAM_INVITATION_DAYS = env_int("TEAM_INVITATION_DAYS", 7)

# --- Email (password reset links): printed on the console in development (DEBUG=1), sent over SMTP otherwise.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # TLS from the start, usually port 465
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)  # a page waits at most this for the mail server
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Miaohua Studio <studio@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# English and Simplified Chinese (issue #11). Before sign-in the browser's Accept-Language chooses (zh-CN, zh-SG
# and zh-Hans all give zh-hans); a member's choice in the user menu is kept (accounts.Preferences) and wins.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["miaohua_site.formats"]  # dates and numbers per language: miaohua_site/formats/<locale>/
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- The upstream (Miaohua) API. Unset: the built-in simulator of this very server.
MIAOHUA_API_BASE = env_str("MIAOHUA_API_BASE")
MIAOHUA_SIMULATOR = env_bool("MIAOHUA_SIMULATOR", MIAOHUA_API_BASE is None)
if MIAOHUA_API_BASE is None:
    MIAOHUA_API_BASE = env_str("MIAOHUA_SIMULATOR_BASE", "http://127.0.0.1:8000/simulator/api/v1b/")
MIAOHUA_CONNECT_TIMEOUT = env_float("MIAOHUA_CONNECT_TIMEOUT", 5.0)
MIAOHUA_READ_TIMEOUT = env_float("MIAOHUA_READ_TIMEOUT", 30.0)
# The calls a web request makes itself (credential check, img2txt): no retries, at most this read timeout.
MIAOHUA_INTERACTIVE_TIMEOUT = env_float("MIAOHUA_INTERACTIVE_TIMEOUT", 10.0)
# Hosts images may be downloaded from: the upstream's own host plus MIAOHUA_IMAGE_HOSTS.
MIAOHUA_IMAGE_HOSTS = [urlsplit(MIAOHUA_API_BASE).hostname, *env_list("MIAOHUA_IMAGE_HOSTS", [])]

MIAOHUA_IMAGE_MAX_BYTES = env_int("MIAOHUA_IMAGE_MAX_BYTES", 60 * 1024 * 1024)
MIAOHUA_IMAGE_TIMEOUT_SECONDS = env_float("MIAOHUA_IMAGE_TIMEOUT_SECONDS", 120.0)

# The engine (miaohua_site/workers/engine.py): in every qcluster worker process, one active, the others standing by.
WORKERS_ENGINE = env_bool("WORKERS_ENGINE", True)
WORKERS_ENGINE_LEASE_SECONDS = env_float("WORKERS_ENGINE_LEASE_SECONDS", 10.0)  # a dead engine's work resumes after
WORKERS_SUBMIT_THREADS = env_int("WORKERS_SUBMIT_THREADS", 4)
WORKERS_POLL_THREADS = env_int("WORKERS_POLL_THREADS", 8)
WORKERS_DOWNLOAD_THREADS = env_int("WORKERS_DOWNLOAD_THREADS", 8)  # per worker process
WORKERS_STOP_SECONDS = env_float("WORKERS_STOP_SECONDS", 30.0)  # a stopping worker lets running calls finish
WORKERS_INLINE_BUDGET_SECONDS = env_float("WORKERS_INLINE_BUDGET_SECONDS", 60.0)  # django-q2 sync mode only
MIAOHUA_CALLS_PER_SECOND = env_int("MIAOHUA_CALLS_PER_SECOND", 6)  # polls per account (digest: task_results)
MIAOHUA_SUBMITS_PER_SECOND = env_int("MIAOHUA_SUBMITS_PER_SECOND", 6)  # submissions per account, members in turn

# Generation: submitting, polling and image downloads (generation/services/).
GENERATION_TIMEOUT_SECONDS = env_int("GENERATION_TIMEOUT_SECONDS", 15 * 60)  # then "failed: timed out upstream"
GENERATION_POLL_INTERVAL_SECONDS = env_float("GENERATION_POLL_INTERVAL_SECONDS", 1.0)  # one sweep per account
GENERATION_SUBMIT_RETRIES = env_int("GENERATION_SUBMIT_RETRIES", 6)  # sends of a task the vendor did nothing with
GENERATION_SUBMIT_RETRY_SECONDS = env_float("GENERATION_SUBMIT_RETRY_SECONDS", 1.0)  # the first pause; then doubling
GENERATION_MIRROR_IMAGES = env_bool("GENERATION_MIRROR_IMAGES", True)
GENERATION_MIRROR_MAX_ATTEMPTS = env_int("GENERATION_MIRROR_MAX_ATTEMPTS", 5)
GENERATION_STORE_WAIT_SECONDS = env_int("GENERATION_STORE_WAIT_SECONDS", 600)  # a card stops waiting for images
GENERATION_SWEEP_MAX_TASKS = env_int("GENERATION_SWEEP_MAX_TASKS", 100)  # tasks one X/Y/Z sweep may make
GENERATION_BATCH_MAX_TASKS = env_int("GENERATION_BATCH_MAX_TASKS", 100)  # tasks of a batch or dynamic prompt

# Datasets and training (training/services/).
TRAINING_UPLOAD_BATCH_FILES = env_int("TRAINING_UPLOAD_BATCH_FILES", 10)  # files per upload_imgs call
TRAINING_UPLOAD_BATCH_BYTES = env_int("TRAINING_UPLOAD_BATCH_BYTES", 40 * 1024 * 1024)
TRAINING_UPLOAD_PARALLEL = env_int("TRAINING_UPLOAD_PARALLEL", 3)  # files the dataset page sends at once
TRAINING_SEND_BUDGET_SECONDS = env_float("TRAINING_SEND_BUDGET_SECONDS", 120.0)  # a sender job, then a fresh one
TRAINING_SEND_LEASE_SECONDS = env_float("TRAINING_SEND_LEASE_SECONDS", 300.0)
TRAINING_DATASET_MAX_PAGES = env_int("TRAINING_DATASET_MAX_PAGES", 500)  # of dataset_all
TRAINING_POLL_INTERVAL_SECONDS = env_float("TRAINING_POLL_INTERVAL_SECONDS", 3.0)  # train_progress per job
TRAINING_TIMEOUT_SECONDS = env_int("TRAINING_TIMEOUT_SECONDS", 24 * 3600)
TRAINING_LORA_WAIT_SECONDS = env_int("TRAINING_LORA_WAIT_SECONDS", 600)  # after "done", for the LoRA to appear
# Between two looks for it in models/private: the poll interval, doubling, at most this.
TRAINING_LORA_SEARCH_MAX_DELAY_SECONDS = env_float("TRAINING_LORA_SEARCH_MAX_DELAY_SECONDS", 60.0)
TRAINING_PRIVATE_MAX_PAGES = env_int("TRAINING_PRIVATE_MAX_PAGES", 10)  # of models/private, looking for it
# Vendor catalogs (generation/catalog.py): refreshed by the worker, read by pages from the cache.
CATALOG_CACHE_SECONDS = env_int("CATALOG_CACHE_SECONDS", 600)  # fresh for this long, then refreshed on next read
CATALOG_STALE_SECONDS = env_int("CATALOG_STALE_SECONDS", 7 * 24 * 3600)  # served stale while a refresh runs
CATALOG_REFRESH_LOCK_SECONDS = env_int("CATALOG_REFRESH_LOCK_SECONDS", 300)  # one refresh at a time, at most this
CATALOG_RETRY_SECONDS = env_int("CATALOG_RETRY_SECONDS", 30)  # after a failed refresh, before pages ask again
CATALOG_WAIT_SECONDS = env_int("CATALOG_WAIT_SECONDS", 60)  # a placeholder then says it waited, with a retry

# The simulator (see miaohua_site/simulator/): how it behaves, all overridable for tests.
MIAOHUA_SIMULATOR_TASK_SECONDS = env_float("MIAOHUA_SIMULATOR_TASK_SECONDS", 4.0)
MIAOHUA_SIMULATOR_TRAIN_SECONDS = env_float("MIAOHUA_SIMULATOR_TRAIN_SECONDS", 60.0)
MIAOHUA_SIMULATOR_EXPIRED_LINK_STATUS = env_int("MIAOHUA_SIMULATOR_EXPIRED_LINK_STATUS", 403)  # or 404, 410
MIAOHUA_SIMULATOR_RENAME_TRAINED = env_bool("MIAOHUA_SIMULATOR_RENAME_TRAINED", True)  # "a b" → "a_b", as documented
# A font with Chinese for the simulator's labels; unset: the usual Noto / Source Han / WenQuanYi / … files.
MIAOHUA_SIMULATOR_CJK_FONT = env_str("MIAOHUA_SIMULATOR_CJK_FONT", "")
# How its answers look (simulator/api.py): "live" (default, what public clients of the live service read),
# "seed" (the seed document's bare answers, refusals as HTTP 4xx) or "envelope" (every answer wrapped).
MIAOHUA_SIMULATOR_SHAPE = env_str("MIAOHUA_SIMULATOR_SHAPE", "live")
if MIAOHUA_SIMULATOR_SHAPE not in ("live", "seed", "envelope"):
    raise ImproperlyConfigured(
        f"MIAOHUA_SIMULATOR_SHAPE must be live, seed or envelope, not {MIAOHUA_SIMULATOR_SHAPE!r}."
    )
MIAOHUA_SIMULATOR_FAULTS = env_str("MIAOHUA_SIMULATOR_FAULTS", "")
MIAOHUA_SIMULATOR_TOKEN_SECONDS = env_int("MIAOHUA_SIMULATOR_TOKEN_SECONDS", 24 * 3600)
MIAOHUA_SIMULATOR_FAIL_MARKER = env_str("MIAOHUA_SIMULATOR_FAIL_MARKER", "simfail")
MIAOHUA_SIMULATOR_SENSITIVE_MARKER = env_str("MIAOHUA_SIMULATOR_SENSITIVE_MARKER", "simsensitive")
MIAOHUA_SIMULATOR_ACCOUNTS = env_str("MIAOHUA_SIMULATOR_ACCOUNTS", "")  # "email:password,email:password"

# --- Content-Security-Policy (django-csp): scripts only from our own static files (htmx included; no inline
# script or handler, no eval: htmx's allowEval is off, see base.html), images from us and the vendor's image hosts
# (the catalog's demo pictures), styles ours plus inline style attributes (progress bars' widths).
_IMAGE_SOURCES = sorted(
    {f"{urlsplit(MIAOHUA_API_BASE).scheme}://{urlsplit(MIAOHUA_API_BASE).netloc}", *filter(None, MIAOHUA_IMAGE_HOSTS)}
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *_IMAGE_SOURCES],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Browser features no page uses (miaohua_site/middleware.py); "()" allows a feature nowhere.
PERMISSIONS_POLICY = {
    feature: ()
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer",
        "microphone", "midi", "payment", "usb", "xr-spatial-tracking",
    )
}  # fmt: skip

DEFAULT_EXCEPTION_REPORTER_FILTER = "miaohua_site.reporting.SecretsFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}, "axes": {"level": "WARNING"}},  # axes: lock-outs only
}

# --- HTTPS. SITE_HTTPS=1 says visitors reach the site over HTTPS (a proxy terminating TLS and setting
# X-Forwarded-Proto): then plain http is redirected and HSTS is sent. Unset, nothing assumes HTTPS, so the local
# start command (http://127.0.0.1, DEBUG on or off) keeps working; production sets it (docs/DEPLOY.md).
SITE_HTTPS = env_bool("SITE_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SITE_HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if SITE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SITE_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SITE_HTTPS)
if not DEBUG or SITE_HTTPS:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    LANGUAGE_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
