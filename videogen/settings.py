"""videogen settings: one module, every value from the environment (django-environ).

Two shapes of deployment share this file:
- production: DATABASE_URL (PostgreSQL), REDIS_URL or CELERY_BROKER_URL, DJANGO_SECRET_KEY and
  FIELD_ENCRYPTION_KEY are set; a missing one stops start-up with its name.
- embedded (a fresh machine, `make demo`): DATABASE_URL unset -> SQLite in WAL mode, no broker
  URL -> kombu's filesystem transport; development keys are generated once into the local data
  folder (VIDEOGEN_DATA_DIR, default ./var), which git ignores.
"""

import secrets
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from core.providers import PROVIDER_CAPS
from pipeline.step_tables import TABLES as STEP_TABLES

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()


def env_secret(name, default=None):
    """A secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    file_name = env.str(f"{name}_FILE", default="")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(
                f"{name}_FILE: cannot read {file_name!r}: {error}"
            ) from error
    return env.str(name, default=default)


def env_positive_int(name, default, *, allow_zero=False):
    try:
        value = env.int(name, default=default)
    except (ValueError, environ.ImproperlyConfigured) as error:
        raise ImproperlyConfigured(
            f"{name}: must be a whole number, got {env.str(name)!r}"
        ) from error
    if value < 0 or (value == 0 and not allow_zero):
        kind = "zero or a positive" if allow_zero else "a positive"
        raise ImproperlyConfigured(f"{name}: must be {kind} whole number, got {value}")
    return value


BOOLEAN_WORDS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


def env_bool(name, default):
    """True/false from NAME; anything but true/false/1/0/yes/no/on/off fails naming NAME
    (django-environ's own bool reads any unknown word as false)."""
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        return BOOLEAN_WORDS[raw.strip().lower()]
    except KeyError:
        raise ImproperlyConfigured(
            f"{name}: must be true or false (1/0, yes/no, on/off), got {raw!r}"
        ) from None


def env_float(name, default):
    try:
        return env.float(name, default=default)
    except (ValueError, environ.ImproperlyConfigured) as error:
        raise ImproperlyConfigured(f"{name}: must be a number, got {env.str(name)!r}") from error


DATA_DIR = Path(env.str("VIDEOGEN_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
EMBEDDED = not env.str("DATABASE_URL", default="")


def _embedded_key(file_name):
    """A development key kept in the data folder, created on first use, never committed."""
    path = DATA_DIR / file_name
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _required_secret(name, embedded_file):
    value = env_secret(name)
    if value:
        return value
    if EMBEDDED:
        return _embedded_key(embedded_file)
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DATABASE_URL is set (production); "
        f"set {name} or {name}_FILE."
    )


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = _required_secret("DJANGO_SECRET_KEY", "secret_key")
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
# django-fernet-encrypted-fields derives its Fernet keys from SECRET_KEY (+ fallbacks) and
# SALT_KEY; a list rotates keys (the first one encrypts). FIELD_ENCRYPTION_KEY is our name for it.
SALT_KEY = [
    k for k in _required_secret("FIELD_ENCRYPTION_KEY", "field_encryption_key").split(",") if k
]

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("VIDEOGEN_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "core",
    "channels_app",
    "pipeline",
    "reviews",
    "costs",
]

MIDDLEWARE = [
    # /health for platform probes, whatever their Host header (the rest checks ALLOWED_HOSTS).
    "videogen.middleware.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's CSS, JS and icons) from the web process itself, collected by the
    # Procfile's release step; runserver and gunicorn serve none with DEBUG off.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "videogen.urls"
WSGI_APPLICATION = "videogen.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reviews.context_processors.waiting",
            ],
        },
    },
]

if EMBEDDED:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "videogen.sqlite3",
            "OPTIONS": {
                # WAL lets the web process read while a worker writes; IMMEDIATE takes the write
                # lock at BEGIN so two writers queue instead of failing with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
    # SQLite has no covering indexes: the INCLUDE columns of the cost indexes are simply not
    # used there (PostgreSQL uses them), so the warning would only repeat on every command.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    try:
        DATABASES = {"default": env.db_url("DATABASE_URL")}
    except environ.ImproperlyConfigured as error:
        raise ImproperlyConfigured(f"DATABASE_URL: {error}") from error
    # django-environ only warns on an unknown scheme; without this the error would surface at the
    # first query, far from its cause.
    if DATABASES["default"].get("ENGINE") not in {
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    }:
        raise ImproperlyConfigured(
            f"DATABASE_URL: unsupported scheme {urlsplit(env.str('DATABASE_URL')).scheme!r}; "
            "use postgres://user:password@host:5432/name"
        )
    try:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
    except ValueError as error:
        raise ImproperlyConfigured(
            f"DATABASE_CONN_MAX_AGE: must be a whole number of seconds, "
            f"got {env.str('DATABASE_CONN_MAX_AGE')!r}"
        ) from error
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # PostgreSQL connections come from a pool per process (psycopg_pool, Django's own support):
    # a worker thread takes one for a few queries and gives it back while its script runs, so a
    # unit costs no new server connection (measured: ~0.8 s less per 18-scene video, bench/).
    # The pool checks a connection before handing it out (CONN_HEALTH_CHECKS), so a database
    # restart costs a reconnect, not an error. 0 turns pooling off (one connection per thread).
    DATABASE_POOL_SIZE = env_positive_int("DATABASE_POOL_SIZE", 20, allow_zero=True)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_SIZE:
        if DATABASES["default"]["CONN_MAX_AGE"]:
            raise ImproperlyConfigured(
                "DATABASE_CONN_MAX_AGE: persistent connections cannot be used with the "
                "connection pool; set DATABASE_POOL_SIZE=0 to use them instead"
            )
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, DATABASE_POOL_SIZE),
            "max_size": DATABASE_POOL_SIZE,
            "timeout": 30,  # seconds to wait for a free connection before an OperationalError
        }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
FORMAT_MODULE_PATH = ["videogen.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Filled by `manage.py collectstatic` (the Procfile's release step, the Dockerfile, the demo);
# inside the code folder so the image's copy is not hidden by a data volume.
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))).resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies (gzip) served by WhiteNoise. Not the manifest (hashed names) variant:
    # with it every page render needs a collected manifest, and Django's test server, which
    # serves from the source folders, cannot find the hashed names.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Production hardening; `manage.py check --deploy` is clean when DJANGO_DEBUG is off and
# VIDEOGEN_HTTPS is on (behind a TLS-terminating proxy).
HTTPS = env_bool("VIDEOGEN_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"  # nothing here is meant to be framed (admin popups are windows)
SESSION_COOKIE_HTTPONLY = True

# --- Workspace -------------------------------------------------------------------------------
WORKSPACE_ROOT = Path(env.str("WORKSPACE_ROOT", default=str(DATA_DIR / "workspace"))).resolve()
CHANNEL_CONFIG_DIR = Path(env.str("CHANNEL_CONFIG_DIR", default=str(BASE_DIR / "channel_configs")))
# The release step (manage.py release) loads the channel files into the database when true;
# otherwise it only names the files that differ from it.
SYNC_CHANNELS_ON_RELEASE = env_bool("VIDEOGEN_SYNC_CHANNELS_ON_RELEASE", False)
# Where the pipeline scripts live; an operator may point this at their own copies.
SCRIPTS_DIR = Path(env.str("VIDEOGEN_SCRIPTS_DIR", default=str(BASE_DIR / "scripts"))).resolve()

# --- Media store (core/media_store.py) --------------------------------------------------------
# A bucket (any S3-compatible store) when a bucket name is set: AWS_S3_BUCKET_NAME is the name
# Railway Buckets inject, AWS_STORAGE_BUCKET_NAME django-storages'. Otherwise the local folder
# WORKSPACE_ROOT is the store (the embedded default: one machine, today's behaviour).
MEDIA_BUCKET_NAME = env.str("AWS_S3_BUCKET_NAME", default="") or env.str(
    "AWS_STORAGE_BUCKET_NAME", default=""
)
MEDIA_BUCKET_NAME_VARIABLE = (
    "AWS_S3_BUCKET_NAME" if env.str("AWS_S3_BUCKET_NAME", default="") else "AWS_STORAGE_BUCKET_NAME"
)
MEDIA_BUCKET_ENDPOINT_URL = env_secret("AWS_ENDPOINT_URL", default="") or None
MEDIA_BUCKET_REGION = env_secret("AWS_DEFAULT_REGION", default="") or None
MEDIA_BUCKET_ACCESS_KEY_ID = env_secret("AWS_ACCESS_KEY_ID", default="") or None
MEDIA_BUCKET_SECRET_ACCESS_KEY = env_secret("AWS_SECRET_ACCESS_KEY", default="") or None
if MEDIA_BUCKET_NAME and bool(MEDIA_BUCKET_ACCESS_KEY_ID) != bool(MEDIA_BUCKET_SECRET_ACCESS_KEY):
    missing = "AWS_SECRET_ACCESS_KEY" if MEDIA_BUCKET_ACCESS_KEY_ID else "AWS_ACCESS_KEY_ID"
    raise ImproperlyConfigured(
        f"{missing} is not set: the bucket {MEDIA_BUCKET_NAME!r} needs both AWS_ACCESS_KEY_ID and "
        f"AWS_SECRET_ACCESS_KEY (or their _FILE forms)"
    )
# Where a worker keeps the bucket's objects it fetched (keyed by name and ETag) and the scratch
# folders its units run in: its own disk, never shared.
MEDIA_CACHE_DIR = Path(env.str("MEDIA_CACHE_DIR", default=str(DATA_DIR / "media-cache"))).resolve()
MEDIA_SCRATCH_DIR = Path(env.str("MEDIA_SCRATCH_DIR", default=str(DATA_DIR / "scratch"))).resolve()
MEDIA_CACHE_MAX_BYTES = env_positive_int("MEDIA_CACHE_MAX_BYTES", 5 * 1024**3)
# How many bytes the media view reads from the store at a time while it streams (pipeline/views.py).
MEDIA_STREAM_CHUNK_BYTES = env_positive_int("MEDIA_STREAM_CHUNK_BYTES", 1024 * 1024)

# --- Celery ------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
CELERY_BROKER_TRANSPORT = None  # the URL's scheme names it
if not CELERY_BROKER_URL:
    # A broker that needs no server, through the same Celery code path (kombu filesystem).
    BROKER_DIR = DATA_DIR / "broker"
    for sub in ("in", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    # The host is a formality (the folders below are the broker); naming it spares kombu's
    # "No hostname was supplied. Reverting to default 'localhost'" warning at every connection.
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT = "videogen.folder_broker:Transport"  # messages put in place whole
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # kombu polls the folder once a second by default: 1-2 s at every hand-over between
        # steps. A tenth of a second costs a listdir per worker and keeps hand-overs quick.
        "polling_interval": 0.1,
    }
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "filesystem://", "memory://")):
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL/REDIS_URL: unsupported scheme "
        f"{CELERY_BROKER_URL.split('://')[0]!r}; use redis://host:port/db"
    )
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}

# The longest a step may run (a scene's clip: 15 min polling + download) and the longest countdown
# we schedule (retry backoff max). Redis redelivers any unacknowledged message older than the
# visibility timeout, running or not, so it must exceed both together
# (or a running step would be delivered twice).
PIPELINE_STEP_HARD_LIMIT = env_positive_int("PIPELINE_STEP_HARD_LIMIT", 3600)
# Celery enforces these in its prefork pool only: the Procfile's threads pool cannot stop a thread,
# so there the runner's per-script timeout (SCRIPT_TIMEOUTS) and the unit's lease stop a runaway.
# Under prefork the soft limit raises inside the task (the script's process group is killed, a
# temporary failure) and the hard limit kills the pool process (the script dies with it).
PIPELINE_STEP_SOFT_LIMIT = env_positive_int(
    "PIPELINE_STEP_SOFT_LIMIT", max(1, PIPELINE_STEP_HARD_LIMIT - 60)
)
if PIPELINE_STEP_SOFT_LIMIT >= PIPELINE_STEP_HARD_LIMIT:
    raise ImproperlyConfigured(
        f"PIPELINE_STEP_SOFT_LIMIT ({PIPELINE_STEP_SOFT_LIMIT}) must be below "
        f"PIPELINE_STEP_HARD_LIMIT ({PIPELINE_STEP_HARD_LIMIT})"
    )
PIPELINE_RETRY_BACKOFF_MAX = env_positive_int("PIPELINE_RETRY_BACKOFF_MAX", 600)
CELERY_VISIBILITY_TIMEOUT = env_positive_int(
    "CELERY_VISIBILITY_TIMEOUT", PIPELINE_STEP_HARD_LIMIT + PIPELINE_RETRY_BACKOFF_MAX + 600
)
if CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = CELERY_VISIBILITY_TIMEOUT
    # How often (seconds) a worker sweeps Redis for unacknowledged messages older than the
    # visibility timeout; kombu's default sweep is about every 100 s.
    if env.str("CELERY_UNACKED_RESTORE_INTERVAL", default=""):
        CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_interval"] = env_positive_int(
            "CELERY_UNACKED_RESTORE_INTERVAL", 10
        )
        CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_throttle"] = 1
# No result backend is used (state lives in PostgreSQL); should one be added, it needs the same
# visibility timeout.
CELERY_RESULT_BACKEND = None
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Acknowledge after the task returns, and re-queue when the pool child dies: at-least-once.
# The exactly-once effect comes from PostgreSQL (claims and the work ledger), not from here.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery binds these into every message from its sender's settings, so web, beat and workers must
# share them (they do: one settings module).
CELERY_TASK_SOFT_TIME_LIMIT = PIPELINE_STEP_SOFT_LIMIT
CELERY_TASK_TIME_LIMIT = PIPELINE_STEP_HARD_LIMIT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BEAT_SCHEDULER = "videogen.beat:Scheduler"  # django-celery-beat's, see videogen/beat.py
# Synced into django-celery-beat's tables when beat starts.
CELERY_BEAT_SCHEDULE = {
    "reconcile": {"task": "pipeline.reconcile", "schedule": 60.0},
    # NOTION_POLL_SECONDS (read here too: this dict comes before the Notion section below).
    "notion-poll": {
        "task": "pipeline.notion_poll",
        "schedule": float(env_positive_int("NOTION_POLL_SECONDS", 60)),
    },
    # Re-sends pushes whose message was lost and retries failed ones after their backoff.
    "notion-push-pending": {"task": "pipeline.notion_push_pending", "schedule": 60.0},
    # Settles uploads whose outcome was unknown by asking YouTube about their session.
    "youtube-reconcile-uploads": {"task": "pipeline.youtube_reconcile_uploads", "schedule": 600.0},
    # Deletes media past its channel's retention (pipeline/retention.py), once a day.
    "media-prune": {"task": "pipeline.media_prune", "schedule": 24 * 3600.0},
    # Sends caption tracks that failed with their upload (pipeline/integrations/youtube_captions).
    "youtube-captions-retry": {"task": "pipeline.youtube_captions_retry", "schedule": 300.0},
}
CELERY_TASK_ROUTES = {"pipeline.run_unit": {"queue": "units"}}
# Every queue the pipeline uses: a plain `celery -A videogen worker` (no -Q) consumes them all;
# `-Q units` or `-Q control` still makes a dedicated worker.
CELERY_TASK_QUEUES = [Queue("control"), Queue("units")]
# Task modules beside the apps' tasks.py (autodiscovered): the Notion and YouTube integrations.
CELERY_IMPORTS = ["pipeline.integrations.notion_tasks", "pipeline.integrations.youtube_tasks"]
CELERY_TASK_DEFAULT_QUEUE = "control"
CELERY_TASK_ALWAYS_EAGER = False

# --- Alerts ------------------------------------------------------------------------------------
DISCORD_WEBHOOK_URL = env_secret("DISCORD_WEBHOOK_URL", default="")
ALERT_DEDUP_SECONDS = env_positive_int("ALERT_DEDUP_SECONDS", 900)

# The watchdog (pipeline/watchdog.py): alarms for when the machinery itself is down. It runs in
# the beat process every WATCHDOG_INTERVAL_SECONDS; workers record that they are alive every
# WORKER_HEARTBEAT_SECONDS. README.md, "Alarms", lists what raises each alarm.
PIPELINE_WORKER_SILENCE_MINUTES = env_positive_int("PIPELINE_WORKER_SILENCE_MINUTES", 5)
WORKER_HEARTBEAT_SECONDS = env_positive_int("WORKER_HEARTBEAT_SECONDS", 10)
# A worker silent this long, while another kept reporting, is lost: its running units are given
# back to the others without waiting for their lease (pipeline/workers.py).
WORKER_LOST_SECONDS = env_positive_int("WORKER_LOST_SECONDS", 45)
# A worker started more than this many times within the window is restarting in a loop (alarm).
WORKER_RESTART_ALERT_COUNT = env_positive_int("WORKER_RESTART_ALERT_COUNT", 3)
WORKER_RESTART_ALERT_MINUTES = env_positive_int("WORKER_RESTART_ALERT_MINUTES", 10)
WATCHDOG_INTERVAL_SECONDS = env_positive_int("WATCHDOG_INTERVAL_SECONDS", 30)
# /status and doctor call beat silent when its last tick is older than this.
BEAT_SILENCE_SECONDS = env_positive_int("BEAT_SILENCE_SECONDS", 300)
WORKSPACE_FREE_WARNING_GB = env_float("WORKSPACE_FREE_WARNING_GB", 10.0)
# Under this, new steps do not start (CRITICAL): a step that starts must be able to finish.
WORKSPACE_FREE_CRITICAL_GB = env_float("WORKSPACE_FREE_CRITICAL_GB", 2.0)
NOTION_THROTTLED_ALERT_SECONDS = env_positive_int("NOTION_THROTTLED_ALERT_SECONDS", 60)
PIPELINE_RETRY_RATE_ALERT = env_float("PIPELINE_RETRY_RATE_ALERT", 0.20)
# Fewer attempts than this in the hour say nothing about a rate.
PIPELINE_RETRY_RATE_MIN_ATTEMPTS = env_positive_int("PIPELINE_RETRY_RATE_MIN_ATTEMPTS", 10)
if WORKSPACE_FREE_CRITICAL_GB > WORKSPACE_FREE_WARNING_GB:
    raise ImproperlyConfigured(
        f"WORKSPACE_FREE_CRITICAL_GB ({WORKSPACE_FREE_CRITICAL_GB}) must not be above "
        f"WORKSPACE_FREE_WARNING_GB ({WORKSPACE_FREE_WARNING_GB})"
    )
if not 0 < PIPELINE_RETRY_RATE_ALERT <= 1:
    raise ImproperlyConfigured(
        f"PIPELINE_RETRY_RATE_ALERT: must be a fraction above 0 and at most 1 (0.20 is 20 %), "
        f"got {PIPELINE_RETRY_RATE_ALERT}"
    )

# --- Logging -----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL: must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}"
    )
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in {"json", "console"}:
    raise ImproperlyConfigured(f"LOG_FORMAT: must be json or console, got {LOG_FORMAT!r}")

from core.logging import configure_logging  # noqa: E402

# structlog owns logging: our dictConfig replaces Django's (one JSON line per event).
LOGGING_CONFIG = None
# The servers log to stdout; manage.py commands (LOG_STREAM=stderr, set by manage.py) keep their
# stdout for the words they print to a person.
LOG_STREAM = env.str("LOG_STREAM", default="stdout")
if LOG_STREAM not in {"stdout", "stderr"}:
    raise ImproperlyConfigured(f"LOG_STREAM: must be stdout or stderr, got {LOG_STREAM!r}")
configure_logging(level=LOG_LEVEL, fmt=LOG_FORMAT, stream=LOG_STREAM)

# --- Pipeline ----------------------------------------------------------------------------------
# Default provider per script family; `local` makes real media offline at zero cost.
VIDEOGEN_PROVIDER = env.str("VIDEOGEN_PROVIDER", default="")
# Concurrency caps per provider, held across every worker process and every video (Redis or,
# in the embedded default, the database); the defaults are each provider's (core/providers.py).
PROVIDER_CONCURRENCY = {
    name: env_positive_int(f"PROVIDER_CAP_{name.upper()}", cap)
    for name, cap in PROVIDER_CAPS.items()
}
# Videos in production at once (all channels), beside each channel's own max_concurrent.
PIPELINE_MAX_ACTIVE_VIDEOS = env_positive_int("PIPELINE_MAX_ACTIVE_VIDEOS", 10)
PIPELINE_MAX_ATTEMPTS = env_positive_int("PIPELINE_MAX_ATTEMPTS", 3)
PIPELINE_RETRY_BACKOFF_BASE = env_float("PIPELINE_RETRY_BACKOFF_BASE", 5.0)
PIPELINE_LEASE_SECONDS = env_positive_int("PIPELINE_LEASE_SECONDS", 900)
# How long a pending unit or a task in a passing status may sit before the reconciler sends its
# message again (a lost message: broker restart, crash between commit and send, killed worker).
PIPELINE_RECONCILE_GRACE_SECONDS = env_positive_int("PIPELINE_RECONCILE_GRACE_SECONDS", 300)
PIPELINE_STUCK_MINUTES = env_positive_int("PIPELINE_STUCK_MINUTES", 30)
# Seconds a single script run may take, per script (defaults: each step's declaration, in
# pipeline/step_list.py); the runner kills its process group after.
SCRIPT_TIMEOUTS = {
    name: env_positive_int(f"SCRIPT_TIMEOUT_{name.upper()}", default)
    for name, default in STEP_TABLES.pipeline_scripts.items()
}

# --- YouTube -----------------------------------------------------------------------------------
# Empty: Google's endpoint. Tests and rehearsals point it at a fake (client_options api_endpoint).
YOUTUBE_API_BASE = env.str("YOUTUBE_API_BASE", default="")
YOUTUBE_UPLOAD_CHUNK_BYTES = env_positive_int("YOUTUBE_UPLOAD_CHUNK_BYTES", 8 * 1024 * 1024)
if YOUTUBE_UPLOAD_CHUNK_BYTES % (256 * 1024):
    raise ImproperlyConfigured(
        f"YOUTUBE_UPLOAD_CHUNK_BYTES: must be a multiple of 262144 (256 KiB), "
        f"got {YOUTUBE_UPLOAD_CHUNK_BYTES}"
    )
YOUTUBE_DAILY_UNITS = env_positive_int("YOUTUBE_DAILY_UNITS", 10_000)
YOUTUBE_DAILY_UPLOADS = env_positive_int("YOUTUBE_DAILY_UPLOADS", 100)
YOUTUBE_HTTP_TIMEOUT_SECONDS = env_positive_int("YOUTUBE_HTTP_TIMEOUT_SECONDS", 120)

# --- Notion ------------------------------------------------------------------------------------
NOTION_TOKEN = env_secret("NOTION_TOKEN", default="")
NOTION_API_BASE = env.str("NOTION_API_BASE", default="https://api.notion.com").rstrip("/")
NOTION_REQUESTS_PER_SECOND = env_float("NOTION_REQUESTS_PER_SECOND", 3.0)
NOTION_POLL_SECONDS = env_positive_int("NOTION_POLL_SECONDS", 60)
# A card a person trashed: "recreate" it once (the database wins), or "leave" it in the trash.
NOTION_TRASHED_CARDS = env.str("NOTION_TRASHED_CARDS", default="recreate")
if NOTION_TRASHED_CARDS not in ("recreate", "leave"):
    raise ImproperlyConfigured(
        f"NOTION_TRASHED_CARDS: must be recreate or leave, got {NOTION_TRASHED_CARDS!r}"
    )
