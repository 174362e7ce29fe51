"""manage.py create_task with a storyboard file past a bound: one clear error naming the file
and the place, no traceback, no task."""

import io
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from core.text.input_bounds import MAX_STORYBOARD_BYTES
from pipeline.models import VideoTask
from tests.factories import ChannelFactory
from tests.pipeline.test_commands import STORYBOARD

pytestmark = pytest.mark.django_db

CASES = {
    "deep nesting": (
        (STORYBOARD + "extra: " + "[" * 1000 + "]" * 1000 + "\n").encode(),
        "line 12, column 27: invalid YAML: nested deeper than 20 levels of mappings and lists",
    ),
    "NUL escape": (
        STORYBOARD.replace("slow pan", '"slow \\0 pan"').encode(),
        "scenes[0].motion: contains a NUL character at position 6",
    ),
    "raw NUL": (
        STORYBOARD.replace("slow pan", "slow \x00 pan").encode(),
        "line 9, column 18: a NUL character",
    ),
    "not UTF-8": (
        STORYBOARD.encode() + "# caf\xe9\n".encode("latin-1"),
        "the storyboard is not UTF-8 text",
    ),
    "too large": (
        (STORYBOARD + "# " + "x" * MAX_STORYBOARD_BYTES + "\n").encode(),
        f"at most {MAX_STORYBOARD_BYTES:,} are allowed",
    ),
    "too long a narration": (
        STORYBOARD.replace("A fox walks through the forest.", "x" * 3001).encode(),
        "scenes[0].narration: must be at most 3000 characters, got 3001",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_storyboard_file_past_a_bound_is_one_clear_error_and_no_task(tmp_path, case):
    ChannelFactory(id="cmdchannel")
    content, expected = CASES[case]
    path = tmp_path / "video.yaml"
    path.write_bytes(content)

    with pytest.raises(CommandError) as raised:
        call_command("create_task", str(path), stdout=io.StringIO())

    assert str(raised.value).startswith(f"invalid storyboard:\n  {path}: ")
    assert expected in str(raised.value)
    assert not VideoTask.objects.exists()


def test_manage_py_prints_the_error_without_a_traceback(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_bytes(CASES["deep nesting"][0])

    completed = subprocess.run(
        [sys.executable, "manage.py", "create_task", str(path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert "nested deeper than 20 levels" in completed.stderr
