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


def test_it_makes_gunicorn_stop_with_the_message_instead_of_rebooting_workers(tmp_path):
    port = free_port()
    result = _run(
        [BIN / "gunicorn", "videogen.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        tmp_path,
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert MESSAGE in lines
    assert "App failed to load" in lines[-1]
