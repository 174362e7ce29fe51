"""A bad environment variable stops manage.py, every celery command and gunicorn with its one-line
message, no traceback, and the exit code names a configuration error where the tool allows it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.faults.servers import free_port

BIN = Path(sys.executable).parent
MESSAGE = "videogen: LOG_LEVEL: must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got 'LOUD'"


def _run(command, tmp_path):
    environment = {**os.environ, "LOG_LEVEL": "LOUD", "VIDEOGEN_DATA_DIR": str(tmp_path)}
    return subprocess.run(
        command,
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "manage.py", "check"],
        [BIN / "celery", "-A", "videogen", "worker", "-Q", "control"],
        [BIN / "celery", "-A", "videogen", "beat", "-S", "django"],
        [BIN / "celery", "-A", "videogen", "flower"],
    ],
    ids=["manage.py", "celery worker", "celery beat", "celery flower"],
)
def test_it_prints_the_bad_variable_in_one_line_and_exits_78(command, tmp_path):
    result = _run(command, tmp_path)

    assert result.returncode == 78
    assert result.stderr.strip() == MESSAGE
    assert "Traceback" not in result.stdout + result.stderr


def test_it_stops_gunicorn_in_its_master_before_any_worker_is_forked(tmp_path):
    # The Procfile's web line (its config module checks the settings in on_starting): with
    # the check left to two workers, gunicorn's arbiter sometimes printed a HaltServer traceback.
    port = free_port()
    command = [
        BIN / "gunicorn", "videogen.wsgi", "-c", "python:videogen.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--workers", "2",
    ]  # fmt: skip
    for _ in range(3):
        result = _run(command, tmp_path)

        assert result.returncode == 78
        assert result.stderr.splitlines()[-1] == MESSAGE  # after gunicorn's "Starting" line
        assert "Traceback" not in result.stdout + result.stderr


def test_it_refuses_to_load_the_app_in_a_bare_wsgi_server_with_the_message(tmp_path):
    # Another WSGI server (or gunicorn without our config): importing the app raises gunicorn's
    # AppImportError, whose message gunicorn prints alone.
    port = free_port()
    result = _run(
        [BIN / "gunicorn", "videogen.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        tmp_path,
    )

    assert result.returncode != 0
    assert MESSAGE in result.stderr.splitlines()
    assert "App failed to load" in result.stderr
