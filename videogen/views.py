from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection

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


def health(request):
    """Liveness for load balancers and supervisors: 200 when the database and broker answer,
    503 naming the one that did not."""
    checks = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            check()
            checks[name] = "ok"
        except Exception as error:  # any failure is the answer we report
            checks[name] = f"error: {type(error).__name__}: {error}"[:300]
    healthy = all(value == "ok" for value in checks.values())
    failed = [name for name, value in checks.items() if value != "ok"]
    body = {"status": "ok" if healthy else "error", "checks": checks}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=200 if healthy else 503)
