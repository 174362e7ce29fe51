"""A full disk is reported as such: "no space left on <path>", exit 75 (temporary: run it again
once space is freed), instead of FFmpeg's closing statistics and "Conversion failed!" or a
traceback. /dev/full answers every write with ENOSPC, like a full disk."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import _common
import pytest
from _common import ScriptError

from core import ffmpeg as _ffmpeg
from tests.fakes.media import ffmpeg_binary

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def test_ffmpeg_writing_to_a_full_disk_says_no_space_left_on_its_output():
    with pytest.raises(ScriptError) as raised:
        _common.run_ffmpeg(
            ["-f", "lavfi", "-i", "sine=duration=1", "-f", "wav", "/dev/full"],
            what="mixing s01",
            ffmpeg=ffmpeg_binary(),
        )

    assert raised.value.exit_code == 75
    assert raised.value.message == (
        "mixing s01: no space left on /dev/full (the disk is full; free some space and run it "
        "again)"
    )


def test_the_ffmpeg_check_on_a_full_disk_is_not_called_a_broken_build():
    probe = _ffmpeg.Probe("wav", "test", ("-f", "lavfi", "-i", "sine=duration=1", "-f", "wav",
                                            "/dev/full"))  # fmt: skip

    with pytest.raises(_ffmpeg.NoSpaceLeft, match="no space left on /tmp/somewhere"):
        _ffmpeg._run_probe(ffmpeg_binary(), probe, "/tmp/somewhere")


def test_a_write_into_an_atomic_output_on_a_full_disk_names_the_folder(tmp_path):
    target = tmp_path / "clips" / "s01.mp4"

    with pytest.raises(ScriptError) as raised, _common.atomic_output(target) as temporary:
        temporary.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    assert raised.value.exit_code == 75
    assert raised.value.message.startswith(f"writing s01.mp4: no space left on {target.parent} ")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_script_whose_own_write_hits_a_full_disk_exits_75_with_one_clear_line(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(SCRIPTS)!r})\n"
        "import _common\n"
        "def main():\n"
        "    with open('/dev/full', 'w') as handle:\n"
        "        handle.write('x' * 100000)\n"
        "_common.run(main)\n"
    )

    completed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(SCRIPTS.parent)},
    )  # fmt: skip

    assert completed.returncode == 75
    assert "Traceback" not in completed.stderr
    line = json.loads(completed.stderr.strip().splitlines()[-1])
    assert line["retriable"] is True
    assert line["error"].startswith("no space left on ")
