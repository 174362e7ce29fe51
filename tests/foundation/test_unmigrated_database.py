"""A command run on a database that was never migrated says "run migrate first" in one line,
not a traceback through the ORM (SQLite's "no such table", PostgreSQL's "relation does not
exist")."""

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.conf import settings

from tests.foundation.test_settings import BASE_ENVIRONMENT

ADVICE = "run `python manage.py migrate` first"


def manage(tmp_path, *args, **variables):
    environment = {
        **BASE_ENVIRONMENT,
        "VIDEOGEN_DATA_DIR": str(tmp_path / "data"),
        "CHANNEL_CONFIG_DIR": str(settings.BASE_DIR / "channel_configs"),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_advice(result):
    assert result.returncode == 78, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert ADVICE in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [["sync_channels", "--check"], ["task_status", "00000000-0000-0000-0000-000000000000"]],
)
def test_a_command_on_an_empty_sqlite_database_says_run_migrate_first(tmp_path, command):
    assert_one_line_advice(manage(tmp_path, *command))


def test_after_migrate_the_same_command_runs(tmp_path):
    assert manage(tmp_path, "migrate", "--noinput").returncode == 0
    result = manage(tmp_path, "sync_channels", "--check")
    assert result.returncode == 0, result.stderr


@pytest.fixture
def empty_postgres_database():
    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    name = f"videogen_unmigrated_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_command_on_an_empty_postgresql_database_says_run_migrate_first(
    tmp_path, empty_postgres_database
):
    result = manage(
        tmp_path, "sync_channels", "--check",
        DATABASE_URL=empty_postgres_database, DJANGO_SECRET_KEY="k", FIELD_ENCRYPTION_KEY="s",
    )  # fmt: skip
    assert_one_line_advice(result)
