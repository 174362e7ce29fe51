"""Commands speak to a person: they take the short id the admin shows, say what is missing in
the words of their flags, and keep their stdout for words (log lines go to stderr)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import VideoTaskFactory

ROOT = Path(__file__).resolve().parents[2]


def call(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_task_status_takes_the_short_id_the_admin_shows():
    task = VideoTaskFactory(title="Axolotls")

    assert "Axolotls" in call("task_status", str(task.pk)[:8])


@pytest.mark.django_db
def test_a_short_id_that_matches_nothing_says_so():
    with pytest.raises(CommandError, match="no task has an id starting with 0000000; give more"):
        call("task_status", "0000000")


@pytest.mark.django_db
def test_draft_task_names_the_empty_flag():
    with pytest.raises(CommandError) as error:
        call("draft_task", "--channel", "pokechannel1", "--topic", "")

    assert str(error.value).startswith("--topic: what the video is about (not empty)")
    assert "--channel" not in str(error.value).split("(or")[0]


def _manage(*args, env=None):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_a_commands_stdout_has_its_words_and_its_log_lines_go_to_stderr():
    code = "import structlog; structlog.get_logger('t').warning('a_log_line'); print('words')"

    result = _manage("shell", "--verbosity", "0", "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "words\n"
    assert "a_log_line" in result.stderr


def test_the_embedded_default_prints_no_sqlite_index_warning(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["VIDEOGEN_DATA_DIR"] = str(tmp_path)

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "W040" not in result.stdout + result.stderr
