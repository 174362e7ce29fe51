"""The audit log is append-only in the database itself, proved with raw SQL: on PostgreSQL (row
triggers for UPDATE and DELETE, a statement trigger for TRUNCATE) and on SQLite, the embedded
default (row triggers; SQLite has no TRUNCATE)."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from core.audit import audit_log_record
from core.models import AuditLog
from tests.factories import VideoTaskFactory

APPEND_ONLY = "append-only"


@pytest.fixture
def entry(db):
    return audit_log_record(
        actor="ada", action="approve", task=VideoTaskFactory(), notes="looks good"
    )


def _refused(sql, params=()):
    """Run sql in its own savepoint and return the database's refusal."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return str(caught.value)


def test_it_runs_these_tests_on_postgresql(db):
    assert connection.vendor == "postgresql"


def test_it_accepts_an_insert_with_raw_sql(entry):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reviews_auditlog "
            "(actor, action, object_type, object_id, notes, metadata, created_at) "
            "VALUES ('bob', 'reject', '', '', 'raw', '{}', now())"
        )
    assert AuditLog.objects.count() == 2


def test_it_refuses_an_update_with_raw_sql(entry):
    message = _refused("UPDATE reviews_auditlog SET notes = 'rewritten' WHERE id = %s", [entry.pk])

    assert APPEND_ONLY in message
    assert "UPDATE" in message
    assert AuditLog.objects.get(pk=entry.pk).notes == "looks good"


def test_it_refuses_a_delete_with_raw_sql(entry):
    message = _refused("DELETE FROM reviews_auditlog WHERE id = %s", [entry.pk])

    assert APPEND_ONLY in message
    assert "DELETE" in message
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_it_refuses_a_truncate_with_raw_sql(entry):
    # A normal (non-transactional) test: tests/conftest.py switches the TRUNCATE trigger off only
    # around the flush of transactional tests, so here it is on, as in production. Foreign keys
    # are deferred; checking them now keeps PostgreSQL from refusing TRUNCATE for that reason
    # ("pending trigger events") before our trigger has a say.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    message = _refused("TRUNCATE reviews_auditlog CASCADE")

    assert APPEND_ONLY in message
    assert "TRUNCATE" in message
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_it_refuses_updates_and_deletes_through_the_orm_too(entry):
    with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(notes="rewritten")
    with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).delete()

    assert AuditLog.objects.get(pk=entry.pk).notes == "looks good"


def test_it_records_the_actor_name_of_a_user_or_a_process(db):
    from tests.factories import UserFactory

    by_user = audit_log_record(actor=UserFactory(username="grace"), action="reject")
    by_process = audit_log_record(actor="notion-intake", action="create_task")

    assert (by_user.actor, by_process.actor) == ("grace", "notion-intake")


# --- SQLite, the embedded default ------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_database(tmp_path_factory):
    """A fresh SQLite database migrated by manage.py in a subprocess, with the embedded settings
    (no DATABASE_URL), exactly as `make demo` would create it."""
    data_dir = tmp_path_factory.mktemp("embedded")
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    environment.update(
        VIDEOGEN_DATA_DIR=str(data_dir),
        DJANGO_SECRET_KEY="sqlite-test-secret",
        FIELD_ENCRYPTION_KEY="sqlite-test-salt",
        DJANGO_SETTINGS_MODULE="videogen.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    path = Path(data_dir) / "videogen.sqlite3"
    assert path.exists()
    return path


@pytest.fixture
def sqlite_entry(sqlite_database):
    database = sqlite3.connect(sqlite_database, isolation_level=None)
    cursor = database.execute(
        "INSERT INTO reviews_auditlog "
        "(actor, action, object_type, object_id, notes, metadata, created_at) "
        "VALUES ('ada', 'approve', '', '', 'looks good', '{}', '2026-01-01 00:00:00')"
    )
    yield database, cursor.lastrowid
    database.close()


def test_it_accepts_an_insert_on_sqlite(sqlite_entry):
    database, row_id = sqlite_entry
    assert database.execute("SELECT notes FROM reviews_auditlog WHERE id = ?", [row_id]).fetchone()


def test_it_refuses_an_update_on_sqlite(sqlite_entry):
    database, row_id = sqlite_entry

    with pytest.raises(sqlite3.DatabaseError, match=APPEND_ONLY):
        database.execute("UPDATE reviews_auditlog SET notes = 'rewritten' WHERE id = ?", [row_id])

    notes = database.execute("SELECT notes FROM reviews_auditlog WHERE id = ?", [row_id])
    assert notes.fetchone() == ("looks good",)


def test_it_refuses_a_delete_on_sqlite(sqlite_entry):
    database, row_id = sqlite_entry

    with pytest.raises(sqlite3.DatabaseError, match=APPEND_ONLY):
        database.execute("DELETE FROM reviews_auditlog WHERE id = ?", [row_id])
    # SQLite's "DELETE FROM t" without WHERE is its TRUNCATE; the row trigger still fires.
    with pytest.raises(sqlite3.DatabaseError, match=APPEND_ONLY):
        database.execute("DELETE FROM reviews_auditlog")

    count = database.execute("SELECT count(*) FROM reviews_auditlog WHERE id = ?", [row_id])
    assert count.fetchone() == (1,)
