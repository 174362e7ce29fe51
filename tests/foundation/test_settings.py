"""Settings fail at start-up with the name of the bad variable, and the embedded default (no
DATABASE_URL) gives SQLite in WAL mode, a broker that needs no server and private generated keys.

Each case starts a fresh interpreter: settings are read once per process.
"""

import json
import os
import stat
import subprocess
import sys

import pytest
from django.conf import settings

SETUP = "import django; django.setup()"
# Only what an interpreter needs: nothing of the test run's own configuration leaks in.
BASE_ENVIRONMENT = {
    key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ
}
PRODUCTION = {
    "DATABASE_URL": "postgres://videogen:password@127.0.0.1:5432/videogen",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_SECRET_KEY": "a-production-secret-key",
    "FIELD_ENCRYPTION_KEY": "a-production-salt",
}


def _start(tmp_path, code=SETUP, *, unset=(), **variables):
    environment = {
        **BASE_ENVIRONMENT,
        "DJANGO_SETTINGS_MODULE": "videogen.settings",
        "VIDEOGEN_DATA_DIR": str(tmp_path / "data"),
        **variables,
    }
    for name in unset:
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _error_line(result):
    assert result.returncode != 0, f"start-up should have failed:\n{result.stdout}"
    return result.stderr.strip().splitlines()[-1]


def test_it_starts_with_a_complete_production_environment(tmp_path):
    result = _start(tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "unset, variables, named",
    [
        (["FIELD_ENCRYPTION_KEY"], {}, "FIELD_ENCRYPTION_KEY is not set"),
        (["DJANGO_SECRET_KEY"], {}, "DJANGO_SECRET_KEY is not set"),
        ([], {"DATABASE_URL": "mongodb://db.example.com/videogen"}, "DATABASE_URL"),
        ([], {"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ([], {"DATABASE_CONN_MAX_AGE": "forever"}, "DATABASE_CONN_MAX_AGE"),
        ([], {"DATABASE_CONN_MAX_AGE": "60"}, "DATABASE_POOL_SIZE=0"),
        ([], {"DATABASE_POOL_SIZE": "-1"}, "DATABASE_POOL_SIZE"),
        ([], {"DATABASE_POOL_SIZE": "many"}, "DATABASE_POOL_SIZE"),
        ([], {"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ([], {"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ([], {"PIPELINE_STEP_HARD_LIMIT": "-5"}, "PIPELINE_STEP_HARD_LIMIT"),
        ([], {"PIPELINE_STEP_HARD_LIMIT": "abc"}, "PIPELINE_STEP_HARD_LIMIT"),
        ([], {"PIPELINE_RETRY_BACKOFF_BASE": "fast"}, "PIPELINE_RETRY_BACKOFF_BASE"),
        ([], {"PROVIDER_CAP_KIE": "0"}, "PROVIDER_CAP_KIE"),
        ([], {"CELERY_BROKER_URL": "amqp://guest:guest@localhost:5672//"}, "CELERY_BROKER_URL"),
        ([], {"REDIS_URL": "amqp://guest:guest@localhost//"}, "REDIS_URL"),
        ([], {"DJANGO_SECRET_KEY_FILE": "/nonexistent/secret_key"}, "DJANGO_SECRET_KEY_FILE"),
        (
            ["FIELD_ENCRYPTION_KEY"],
            {"FIELD_ENCRYPTION_KEY_FILE": "/nonexistent/salt"},
            "FIELD_ENCRYPTION_KEY_FILE",
        ),
    ],
    ids=[
        "encryption-key-missing-in-production",
        "secret-key-missing-in-production",
        "database-url-bad-scheme",
        "database-url-not-a-url",
        "conn-max-age-not-a-number",
        "conn-max-age-with-the-pool",
        "pool-size-negative",
        "pool-size-not-a-number",
        "log-level-unknown",
        "log-format-unknown",
        "step-limit-negative",
        "step-limit-not-a-number",
        "backoff-not-a-number",
        "provider-cap-zero",
        "broker-amqp",
        "redis-url-amqp",
        "secret-key-file-missing",
        "encryption-key-file-missing",
    ],
)
def test_it_fails_at_start_up_naming_the_variable(tmp_path, unset, variables, named):
    result = _start(tmp_path, unset=unset, **{**PRODUCTION, **variables})

    line = _error_line(result)
    assert line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert named in line


@pytest.mark.parametrize(
    "variables, expected",
    [
        ({}, "pool 2-20 age 0"),
        ({"DATABASE_POOL_SIZE": "1"}, "pool 1-1 age 0"),
        ({"DATABASE_POOL_SIZE": "0", "DATABASE_CONN_MAX_AGE": "60"}, "pool None age 60"),
    ],
)
def test_postgresql_connections_come_from_a_pool_unless_turned_off(tmp_path, variables, expected):
    code = (
        SETUP + "; from django.conf import settings; db = settings.DATABASES['default']; "
        "pool = db['OPTIONS'].get('pool'); "
        "size = pool and f\"{pool['min_size']}-{pool['max_size']}\"; "
        "print('pool', size, 'age', db['CONN_MAX_AGE'])"
    )

    result = _start(tmp_path, code, **{**PRODUCTION, **variables})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_it_does_not_print_the_database_password_in_the_error(tmp_path):
    result = _start(tmp_path, **{**PRODUCTION, "DATABASE_URL": "mongodb://u:hunter2@db/videogen"})

    assert "hunter2" not in _error_line(result)


def test_it_reads_secrets_from_files(tmp_path):
    (tmp_path / "secret_key").write_text("secret-from-a-file\n")
    (tmp_path / "salt").write_text("new-salt,old-salt\n")
    code = (
        SETUP + "; from django.conf import settings; "
        "print(settings.SECRET_KEY); print(','.join(settings.SALT_KEY))"
    )

    result = _start(
        tmp_path,
        code,
        unset=["DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY"],
        **{
            **PRODUCTION,
            "DJANGO_SECRET_KEY_FILE": str(tmp_path / "secret_key"),
            "FIELD_ENCRYPTION_KEY_FILE": str(tmp_path / "salt"),
        },
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["secret-from-a-file", "new-salt,old-salt"]


def test_it_keeps_redis_from_redelivering_a_running_step(tmp_path):
    code = (
        SETUP + "; from django.conf import settings as s; "
        "print(s.CELERY_BROKER_URL); "
        "print(s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout']); "
        "print(s.PIPELINE_STEP_HARD_LIMIT + s.PIPELINE_RETRY_BACKOFF_MAX)"
    )

    result = _start(tmp_path, code, **PRODUCTION)

    assert result.returncode == 0, result.stderr
    broker, visibility_timeout, longest = result.stdout.split()
    assert broker == "redis://127.0.0.1:6379/0"
    assert int(visibility_timeout) > int(longest)


# --- The embedded default: a fresh machine with no servers -------------------------------------

EMBEDDED_REPORT = """
import json, os, stat
import django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal_mode = cursor.fetchone()[0]
print(json.dumps({
    "vendor": connection.vendor,
    "journal_mode": journal_mode,
    "broker": settings.CELERY_BROKER_URL,
    "broker_folder": settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"],
    "secret_key": settings.SECRET_KEY,
    "salt": settings.SALT_KEY,
}))
"""


@pytest.fixture
def embedded(tmp_path):
    def start():
        result = _start(tmp_path, EMBEDDED_REPORT)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    return start


def test_it_uses_sqlite_in_wal_mode_without_a_database_url(embedded, tmp_path):
    report = embedded()

    assert report["vendor"] == "sqlite"
    assert report["journal_mode"] == "wal"
    assert (tmp_path / "data" / "videogen.sqlite3").exists()


def test_it_uses_a_broker_that_needs_no_server(embedded, tmp_path):
    report = embedded()

    assert report["broker"] == "filesystem://localhost/"
    assert report["broker_folder"].startswith(str(tmp_path / "data"))


EMBEDDED_BROKER_ROUND_TRIP = """
import logging
logging.basicConfig(level=logging.WARNING)
import django
django.setup()
from videogen.celery import app
with app.connection_for_write() as connection:
    print(connection.as_uri())
    queue = connection.SimpleQueue("round-trip")
    queue.put({"hello": "broker"})
    message = queue.get(timeout=5)
    message.ack()
    print(message.payload["hello"])
"""


def test_it_talks_to_the_embedded_broker_without_a_missing_hostname_warning(tmp_path):
    result = _start(tmp_path, EMBEDDED_BROKER_ROUND_TRIP, LOG_FORMAT="console")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["videogen.folder_broker:Transport://:**@localhost//", "broker"]
    assert "No hostname was supplied" not in result.stderr


def test_it_generates_private_keys_in_the_data_folder_once(embedded, tmp_path):
    first = embedded()
    second = embedded()

    for name in ("secret_key", "field_encryption_key"):
        path = tmp_path / "data" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        assert len(path.read_text().strip()) >= 50
    assert first["secret_key"] == (tmp_path / "data" / "secret_key").read_text().strip()
    assert (first["secret_key"], first["salt"]) == (second["secret_key"], second["salt"])
