"""/health, the web's liveness: 200 when PostgreSQL and the broker (Redis) answer, 503 naming the
one that did not, within seconds, whatever the Host header. /status, the system's: 503 also when
no worker was seen or beat is silent."""

import datetime as dt
import socket
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from pipeline.models import Heartbeat
from pipeline.watchdog import heartbeat_record
from videogen import views


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers (a hung broker)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for client in accepted:
        client.close()
    server.close()


@pytest.fixture(autouse=True)
def machinery_alive(db):
    """A worker and beat recorded their heartbeats (as the running processes do)."""
    for kind in ("worker", "beat"):
        heartbeat_record(kind=kind, hostname=f"{kind}@test")


@pytest.fixture
def database_at(monkeypatch):
    """Points new database connections at another port (the test's own stays open)."""

    def point(port):
        monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connection.settings_dict, "PORT", str(port))

    return point


@pytest.mark.django_db
def test_it_answers_200_when_database_and_broker_are_up(client, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "workers": "ok", "beat": "ok"},
    }


@pytest.mark.django_db
def test_it_needs_no_login(client):
    response = client.get("/health", follow=False)
    assert response.status_code == 200


@pytest.mark.django_db
def test_it_answers_503_naming_the_broker_when_redis_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")
    assert "Connection refused" in body["checks"]["broker"]


@pytest.mark.django_db
def test_it_answers_503_within_seconds_when_the_broker_hangs(client, settings, silent_port):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent_port}/0"
    started = time.monotonic()

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    assert time.monotonic() - started < views.BROKER_TIMEOUT_SECONDS * 3


@pytest.mark.django_db
def test_it_answers_503_naming_the_database_when_it_is_down(client, database_at):
    database_at(_closed_port())

    response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database"]
    assert body["checks"]["broker"] == "ok"
    assert body["checks"]["database"].startswith("error: OperationalError: ")
    assert body["checks"]["workers"] == "unknown: the database is unreachable"


@pytest.mark.django_db
def test_it_answers_503_within_seconds_when_the_database_hangs(client, database_at, silent_port):
    database_at(silent_port)
    started = time.monotonic()

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert time.monotonic() - started < views.DATABASE_TIMEOUT_SECONDS * 3


@pytest.mark.django_db
def test_it_answers_503_within_seconds_when_database_and_broker_both_hang(
    client, settings, database_at, silent_port
):
    database_at(silent_port)
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent_port}/0"
    started = time.monotonic()

    response = client.get("/health")

    assert response.json()["failed"] == ["database", "broker"]
    budget = views.DATABASE_TIMEOUT_SECONDS + views.BROKER_TIMEOUT_SECONDS
    assert time.monotonic() - started < budget + 3


@pytest.mark.django_db
def test_it_names_both_when_both_are_down(client, settings, database_at):
    database_at(_closed_port())
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["failed"] == ["database", "broker"]


@pytest.mark.django_db
def test_it_stays_200_reporting_workers_when_none_was_seen_in_the_silence_window(client, settings):
    settings.PIPELINE_WORKER_SILENCE_MINUTES = 5
    Heartbeat.objects.filter(kind="worker").update(seen_at=timezone.now() - dt.timedelta(minutes=6))

    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert "failed" not in body
    assert "no worker seen in the last 5 min" in body["checks"]["workers"]


@pytest.mark.django_db
def test_it_stays_200_reporting_beat_when_it_never_ticked(client):
    Heartbeat.objects.filter(kind="beat").delete()

    response = client.get("/health")

    assert response.status_code == 200
    assert "never ticked" in response.json()["checks"]["beat"]


@pytest.mark.django_db
def test_status_answers_200_when_everything_answers(client):
    response = client.get("/status")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_status_answers_503_naming_workers_when_none_was_seen_in_the_silence_window(
    client, settings
):
    settings.PIPELINE_WORKER_SILENCE_MINUTES = 5
    Heartbeat.objects.filter(kind="worker").update(seen_at=timezone.now() - dt.timedelta(minutes=6))

    response = client.get("/status")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["workers"]
    assert "no worker seen in the last 5 min" in body["checks"]["workers"]


@pytest.mark.django_db
def test_status_answers_503_naming_beat_when_it_never_ticked(client):
    Heartbeat.objects.filter(kind="beat").delete()

    response = client.get("/status")

    assert response.status_code == 503
    assert response.json()["failed"] == ["beat"]
    assert "never ticked" in response.json()["checks"]["beat"]


@pytest.mark.django_db
def test_status_answers_503_naming_the_broker_when_redis_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = client.get("/status")

    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


@pytest.mark.django_db
def test_it_answers_railways_probe_host_that_the_allowed_hosts_do_not_name(client, settings):
    settings.ALLOWED_HOSTS = ["videogen.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/health", headers={"host": "healthcheck.railway.app"})

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/status", "/admin/login/", "/admin/", "/", "/health/"])
@pytest.mark.parametrize("host", ["healthcheck.railway.app", "attacker.example"])
def test_other_paths_still_refuse_hosts_the_allowed_hosts_do_not_name(client, settings, path, host):
    settings.ALLOWED_HOSTS = ["videogen.example.com"]

    assert client.get(path, headers={"host": host}).status_code == 400
    assert client.get(path, headers={"host": "videogen.example.com"}).status_code != 400
