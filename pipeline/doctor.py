"""`manage.py doctor`: the checks that tell an operator the system can hold its promises.

Each check is a plain function returning (name, ok, detail); doctor_run() runs them all and turns an
unexpected exception into a failed check with its message, so one broken dependency (the database
down, say) does not hide the others.
"""

import datetime as dt
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.ffmpeg import FFmpegUnusable, cache_directory, usable_ffmpeg
from pipeline.runner import BUNDLED_STAND_INS, script_path
from pipeline.step_tables import TABLES

PIPELINE_SCRIPTS = tuple(TABLES.pipeline_scripts)  # every step's scripts, the writer's too
BROKER_TIMEOUT_SECONDS = 3
# The reconciler runs every minute; a lease expired for longer than this was not reclaimed.
LEASE_RECLAIM_GRACE_SECONDS = 120

# pg_trigger.tgtype bits (PostgreSQL's include/catalog/pg_trigger.h).
TRIGGER_TYPE_ROW = 1 << 0
TRIGGER_TYPE_DELETE = 1 << 3
TRIGGER_TYPE_UPDATE = 1 << 4
TRIGGER_TYPE_TRUNCATE = 1 << 5


def _redact(url):
    """The broker URL without its password."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':***' if ':' in credentials else user}@{host}"


def check_broker():
    from kombu import Connection

    url = settings.CELERY_BROKER_URL
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {})
    options.setdefault("max_retries", 0)
    try:
        with Connection(
            url, connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=options
        ) as broker:
            broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
            if url.startswith(("redis://", "rediss://")):
                broker.default_channel.client.ping()
    except Exception as error:
        return (
            "broker",
            False,
            f"{_redact(url)} unreachable within {BROKER_TIMEOUT_SECONDS} s: "
            f"{type(error).__name__}: {error}",
        )
    return "broker", True, f"{_redact(url)} answers"


def check_visibility_timeout():
    name = "visibility timeout"
    timeout = settings.CELERY_VISIBILITY_TIMEOUT
    step = settings.PIPELINE_STEP_HARD_LIMIT
    backoff = settings.PIPELINE_RETRY_BACKOFF_MAX
    longest = step + backoff
    if timeout <= longest:
        return (
            name,
            False,
            f"CELERY_VISIBILITY_TIMEOUT={timeout} s is not above the longest step plus the longest "
            f"countdown ({step} + {backoff} = {longest} s): Redis would hand a running step to "
            f"another worker. Raise CELERY_VISIBILITY_TIMEOUT above {longest}.",
        )
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
        configured = options.get("visibility_timeout")
        if configured != timeout:
            return (
                name,
                False,
                f"the broker's transport options say visibility_timeout={configured!r}, not "
                f"CELERY_VISIBILITY_TIMEOUT={timeout}: Redis uses the transport option "
                f"(default 3600 s)",
            )
    return name, True, f"{timeout} s > longest step {step} s + countdown {backoff} s"


def check_encryption_key():
    from channels_app.crypto import EncryptionKeyError, encryption_key_check

    try:
        encryption_key_check()
    except EncryptionKeyError as error:
        return "encryption key", False, str(error)
    return "encryption key", True, "the canary decrypts with the configured keys"


# The tables the database keeps append-only: the audit log and the review decisions.
APPEND_ONLY_TABLES = ("reviews_auditlog", "reviews_review")


def _postgresql_audit_triggers(table):
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT tgname, tgtype, tgenabled FROM pg_trigger
               WHERE tgrelid = %s::regclass AND NOT tgisinternal""",
            [table],
        )
        rows = cursor.fetchall()
    problems = []
    names = []

    def find(bits, row_level):
        for tgname, tgtype, enabled in rows:
            if (tgtype & bits) == bits and bool(tgtype & TRIGGER_TYPE_ROW) == row_level:
                return tgname, enabled
        return None

    for what, bits, row_level in (
        ("row trigger for UPDATE and DELETE", TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE, True),
        ("statement trigger for TRUNCATE", TRIGGER_TYPE_TRUNCATE, False),
    ):
        found = find(bits, row_level)
        if found is None:
            problems.append(f"no {what} on {table}")
        elif found[1] == "D":
            problems.append(
                f"{what} {found[0]} is disabled (ALTER TABLE {table} ENABLE TRIGGER {found[0]})"
            )
        else:
            names.append(found[0])
    return problems, names


def _sqlite_audit_triggers(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [table],
        )
        rows = cursor.fetchall()
    problems, names = [], []
    for operation in ("UPDATE", "DELETE"):
        found = [name for name, sql in rows if f"BEFORE {operation} ON" in (sql or "").upper()]
        if found:
            names.append(found[0])
        else:
            problems.append(f"no trigger refusing {operation} on {table}")
    return problems, names


def check_audit_triggers():
    name = "audit triggers"
    readers = {"postgresql": _postgresql_audit_triggers, "sqlite": _sqlite_audit_triggers}
    if connection.vendor not in readers:
        return name, False, f"no audit triggers are written for {connection.vendor}"
    problems, names = [], []
    for table in APPEND_ONLY_TABLES:
        found_problems, found_names = readers[connection.vendor](table)
        problems += found_problems
        names += found_names
    extra = " (SQLite has no TRUNCATE)" if connection.vendor == "sqlite" else ""
    if problems:
        return name, False, "; ".join(problems)
    return name, True, f"{', '.join(names)} present and enabled{extra}"


def check_ffmpeg():
    """The FFmpeg the scripts will use (core/ffmpeg.py chooses it), run through every filter
    and encoder they use on a tiny generated input; never from the cache, so doctor tests it
    now. The detail names the binary, its version and, on failure, the filter."""
    try:
        capability = usable_ffmpeg(use_cache=False)
    except FFmpegUnusable as error:
        return "ffmpeg", False, error.message
    return (
        "ffmpeg",
        True,
        f"{capability.describe()}: every filter and encoder the scripts use ran "
        f"({capability.seconds:.1f} s)",
    )


def _unwritable(folder):
    """Why a file cannot be created in folder (made if missing), or None when one can."""
    try:
        Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as error:
        return f"{folder}: {error.strerror or error}"
    return None


def check_writable():
    """The folders the processes write: the workspace (every video's files), the data folder and
    FFmpeg's check cache. A volume mounted owned by another user (root, say) fails here, not at
    the first video."""
    folders = {
        "WORKSPACE_ROOT": settings.WORKSPACE_ROOT,
        "VIDEOGEN_DATA_DIR": settings.DATA_DIR,
        "VIDEOGEN_FFMPEG_CHECK_CACHE": cache_directory(),
    }
    problems = [
        f"{problem} ({variable})"
        for variable, folder in folders.items()
        if (problem := _unwritable(folder))
    ]
    if problems:
        return (
            "writable folders",
            False,
            f"cannot write as uid {os.getuid()}: {'; '.join(problems)}. Give the folder to this "
            "user (chown; the image's entrypoint does so when the container starts as root) or "
            "point the variable elsewhere",
        )
    return "writable folders", True, ", ".join(str(folder) for folder in folders.values())


def check_expired_leases(*, now=None, grace_seconds=LEASE_RECLAIM_GRACE_SECONDS):
    """Work items still running on a lease that expired: their worker died and the reconciler
    (beat) has not reclaimed them. A lease expired for less than the grace is normal."""
    from pipeline.models import WorkItem, WorkState

    name = "expired leases"
    now = now or timezone.now()
    expired = WorkItem.objects.filter(state=WorkState.RUNNING, lease_expires_at__lt=now)
    overdue = expired.filter(lease_expires_at__lt=now - dt.timedelta(seconds=grace_seconds))
    count = overdue.count()
    if count:
        oldest = overdue.order_by("lease_expires_at").first()
        age = int((now - oldest.lease_expires_at).total_seconds())
        return (
            name,
            False,
            f"{count} running work item(s) with a lease expired more than {grace_seconds} s ago "
            f"and not reclaimed; oldest: item {oldest.pk} (task {oldest.task_id}, "
            f"{oldest.step} {oldest.unit}) expired {age} s ago. Is beat (the reconciler) running?",
        )
    recent = expired.count()
    if recent:
        return name, True, f"{recent} expired within the last {grace_seconds} s (being reclaimed)"
    return name, True, "none"


def check_scripts():
    """Every pipeline script is where the runner will look for it (script_path: the operator's
    folder, with ours standing in for the scripts an operator never had)."""
    folder = Path(settings.SCRIPTS_DIR)
    missing = [script for script in PIPELINE_SCRIPTS if not script_path(script).is_file()]
    if missing:
        return (
            "scripts",
            False,
            f"{folder} lacks {', '.join(f'{script}.py' for script in missing)}",
        )
    stand_ins = [
        script
        for script in PIPELINE_SCRIPTS
        if script in BUNDLED_STAND_INS and not (folder / f"{script}.py").is_file()
    ]
    bundled = f" ({', '.join(stand_ins)} from videogen's own scripts/)" if stand_ins else ""
    return "scripts", True, f"all {len(PIPELINE_SCRIPTS)} in {folder}{bundled}"


def check_workers(*, now=None):
    """A worker recorded its heartbeat within PIPELINE_WORKER_SILENCE_MINUTES."""
    from pipeline.watchdog import workers_seen

    seen = workers_seen(now=now)
    window = f"{settings.PIPELINE_WORKER_SILENCE_MINUTES} min (PIPELINE_WORKER_SILENCE_MINUTES)"
    if not seen:
        return "workers", False, f"no worker seen in the last {window}: start the workers"
    return "workers", True, f"{len(seen)} seen in the last {window}: {', '.join(seen[:5])}"


def check_beat(*, now=None):
    """Beat's scheduler loop recorded its heartbeat within BEAT_SILENCE_SECONDS."""
    from pipeline.watchdog import beat_alive

    alive, last = beat_alive(now=now)
    if not alive:
        when = f"last tick {last:%Y-%m-%d %H:%M:%S} UTC" if last else "never ticked"
        return (
            "beat",
            False,
            f"silent for over {settings.BEAT_SILENCE_SECONDS} s ({when}): start beat "
            "(Procfile: beat); without it nothing reconciles and no alarm is raised",
        )
    return "beat", True, f"last tick {last:%Y-%m-%d %H:%M:%S} UTC"


def check_channel_files():
    """The channel files (CHANNEL_CONFIG_DIR) say what the database holds: a file edited but not
    synced, or a channel changed behind its file, is named with the settings that differ."""
    from channels_app.services import channel_files_drift

    folder = Path(settings.CHANNEL_CONFIG_DIR)
    drift, errors = channel_files_drift(config_dir=folder)
    if drift or errors:
        return (
            "channel files",
            False,
            "; ".join(drift + errors) + " (run `manage.py sync_channels`)",
        )
    return "channel files", True, f"every file in {folder} matches the database"


CHECKS = (
    check_broker,
    check_visibility_timeout,
    check_encryption_key,
    check_audit_triggers,
    check_ffmpeg,
    check_writable,
    check_expired_leases,
    check_scripts,
    check_workers,
    check_beat,
    check_channel_files,
)


def doctor_run(checks=CHECKS):
    results = []
    for check in checks:
        try:
            results.append(check())
        except Exception as error:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append((name, False, f"check failed: {type(error).__name__}: {error}"))
    return results


def doctor_format(result):
    name, ok, detail = result
    return f"{'ok' if ok else 'FAIL':<4}  {name}: {detail}"
