from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection

from pipeline.watchdog import beat_alive, database_unreachable, workers_seen

BROKER_TIMEOUT_SECONDS = 2


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


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


def health(request):
    """Liveness for load balancers and supervisors: 200 when the database and broker answer, a
    worker was seen within the silence window and beat ticked recently; 503 naming the ones that
    did not. The database unreachable also goes straight to Discord (it cannot be stored)."""
    checks = {}
    for name, check in (
        ("database", _check_database),
        ("broker", _check_broker),
        ("workers", _check_workers),
        ("beat", _check_beat),
    ):
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
    failed = [name for name, value in checks.items() if value.startswith("error")]
    body = {"status": "error" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)
