import copy

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import JsonResponse
from kombu import Connection

from core.media_store import media_store
from pipeline.watchdog import beat_alive, database_unreachable, workers_seen

# Each probe of /health and /status answers within a few of these, whatever is down: Railway and
# Docker give up on a slower answer and call a live web dead.
BROKER_TIMEOUT_SECONDS = 2
DATABASE_TIMEOUT_SECONDS = 2

# The web's liveness: what the web process itself needs to serve a page. Workers and beat are
# separate processes; their silence is the system's trouble (/status), not a reason to restart
# the web.
LIVENESS_CHECKS = ("database", "broker")


def _check_database():
    """Open a fresh connection (not one from the pool, whose wait for a connection lasts its own
    30 s while the server is down) with a short connect timeout, and run one query."""
    database = connections[DEFAULT_DB_ALIAS]
    settings_dict = copy.deepcopy(database.settings_dict)
    if database.vendor == "postgresql":
        settings_dict["OPTIONS"].pop("pool", None)
        settings_dict["OPTIONS"]["connect_timeout"] = DATABASE_TIMEOUT_SECONDS
    probe = database.__class__(settings_dict, alias=DEFAULT_DB_ALIAS)
    try:
        with probe.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        probe.close()


def _check_broker():
    """Open a fresh connection to the broker the settings name now (not one from Celery's pool,
    which could hide a dead broker), with a short timeout: a health check must answer quickly.
    For Redis, connecting includes a PING, so a port that accepts but does not speak fails too."""
    transport_options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    }
    with Connection(
        settings.CELERY_BROKER_URL,
        transport_options=transport_options,
        connect_timeout=BROKER_TIMEOUT_SECONDS,
    ) as broker:
        broker.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)


def _check_workers():
    seen = workers_seen()
    if not seen:
        raise RuntimeError(
            f"no worker seen in the last {settings.PIPELINE_WORKER_SILENCE_MINUTES} min "
            "(PIPELINE_WORKER_SILENCE_MINUTES)"
        )


def _check_beat():
    alive, last = beat_alive()
    if not alive:
        when = f"last tick {last:%Y-%m-%d %H:%M:%S} UTC" if last else "never ticked"
        raise RuntimeError(f"beat silent for over {settings.BEAT_SILENCE_SECONDS} s ({when})")


def _check_media_store():
    """Write, read back and delete a probe object: a bucket that lost its key or its bucket
    stops every unit and the review player, whatever the web's own liveness says."""
    media_store().probe()


def _checks(*, media=False):
    """Every check's answer: "ok", "error: <what>", or "unknown: <why>" when the database it
    reads from is unreachable. The database unreachable also goes straight to Discord (it cannot
    be stored). `media`: probe the media store too (/status; the liveness probe, called every few
    seconds, leaves the bucket alone)."""
    checks = {}
    probes = [
        ("database", _check_database),
        ("broker", _check_broker),
        ("workers", _check_workers),
        ("beat", _check_beat),
    ]
    if media:
        probes.append(("media store", _check_media_store))
    for name, check in probes:
        if name in ("workers", "beat") and checks["database"] != "ok":
            checks[name] = "unknown: the database is unreachable"
            continue
        try:
            check()
            checks[name] = "ok"
        except Exception as error:  # any failure is the answer we report
            checks[name] = f"error: {type(error).__name__}: {error}"[:300]
            if name == "database":
                database_unreachable(where="web", error=error)
    return checks


def _answer(checks, *, failing):
    failed = [name for name in failing if checks[name].startswith("error")]
    body = {"status": "error" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)


def health(request):
    """The web's liveness, for Railway's probe and the image's HEALTHCHECK: 200 while the web
    reaches the database and the broker, 503 naming the one it does not. Workers and beat are
    reported but never fail it. Answered by HealthProbeMiddleware, whatever the Host header."""
    return _answer(_checks(), failing=LIVENESS_CHECKS)


def status(request):
    """The system's status, for uptime monitors: 503 naming what fails, including no worker seen
    within the silence window, beat silent and the media store failing its probe."""
    checks = _checks(media=True)
    return _answer(checks, failing=tuple(checks))
