import os
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection

pytest_plugins = ["tests.stack"]

SERVICES = {"PostgreSQL": "DATABASE_URL", "Redis": "REDIS_URL"}


def _reachable(url):
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=2):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    """Tests run on real PostgreSQL and Redis. When one is unreachable the run stops with its name
    (in CI and locally alike: nearly every test needs them, and a silent skip would hide it)."""
    missing = []
    for name, variable in SERVICES.items():
        url = os.environ.get(variable, "")
        if not url:
            missing.append(f"{name}: {variable} is not set (run the tests with `make test`)")
        elif not _reachable(url):
            missing.append(f"{name}: nothing answers at {urlparse(url).netloc} ({variable})")
    if missing:
        pytest.exit(
            "required services are unreachable:\n  "
            + "\n  ".join(missing)
            + ("\n(CI=true: failing, not skipping)" if os.environ.get("CI") else ""),
            returncode=3,
        )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A test database of its own per run (make test sets VIDEOGEN_TEST_RUN) and per xdist
    process, so two runs on one machine, or two processes of one run, never share one."""
    from pytest_django.fixtures import _set_suffix_to_test_databases

    run = os.environ.get("VIDEOGEN_TEST_RUN")
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1 under `-n 2` (tests/parallel.py)
    suffix = "_".join(part for part in (f"run{run}" if run else "", worker or "") if part)
    if suffix:
        _set_suffix_to_test_databases(suffix=suffix)


# The append-only tables and the statement triggers that refuse TRUNCATE on them.
TRUNCATE_TRIGGERS = [
    ("reviews_auditlog", "audit_no_truncate"),
    ("reviews_review", "review_no_truncate"),
]


@pytest.fixture(autouse=True)
def _audit_truncate_guard(request):
    """The audit and review tables refuse TRUNCATE (statement triggers), and pytest-django
    empties the database after a transactional test with TRUNCATE. Such tests switch those
    triggers off just for the flush, and every test starts with them on again."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    transactional = marker.kwargs.get("transaction", False) or (
        "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table, trigger in TRUNCATE_TRIGGERS:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    yield
    if transactional and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table, trigger in TRUNCATE_TRIGGERS:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    """Test users get MD5 password hashes: Django's PBKDF2 takes most of a second per hash and per
    log-in, and hundreds of tests create or log in a user. Tests whose users log in to a server in
    another process (gunicorn, runserver: default hashers, which refuse MD5) keep the default."""
    if "admin_server" not in request.fixturenames:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def workspace(tmp_path, settings):
    root = tmp_path / "workspace"
    root.mkdir()
    settings.WORKSPACE_ROOT = root
    return root
