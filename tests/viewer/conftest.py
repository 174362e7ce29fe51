"""Fixtures for the viewer's features (issue 23): real media made with FFmpeg, the cut assembled
by scripts/assemble_video.py, and both FFmpeg builds (the bundled one, Debian's when installed;
with CI=true a missing /usr/bin/ffmpeg fails instead of skipping)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.media import ffmpeg_binary

REPO = Path(__file__).resolve().parents[2]
SYSTEM_FFMPEG = Path("/usr/bin/ffmpeg")


@pytest.fixture(params=["bundled", "system"])
def ffmpeg_path(request) -> str:
    """Each FFmpeg build the product may run with."""
    if request.param == "bundled":
        from scripts._ffmpeg import bundled_ffmpeg

        return bundled_ffmpeg() or ffmpeg_binary()
    if not SYSTEM_FFMPEG.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI installs Debian's FFmpeg, but {SYSTEM_FFMPEG} is missing")
        pytest.skip(f"{SYSTEM_FFMPEG} is not installed")
    return str(SYSTEM_FFMPEG)


def render(output, *arguments, ffmpeg=None):
    subprocess.run(
        [ffmpeg or ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         *arguments, str(output)],
        check=True,
    )  # fmt: skip
    return Path(output)


def tone(path, seconds, *, frequency=300, volume_db=-20):
    """A narration stand-in: a tone of exactly `seconds`."""
    return render(path, "-f", "lavfi", "-i", f"sine=f={frequency}:d={seconds}:r=44100",
                  "-af", f"volume={volume_db}dB", "-c:a", "libmp3lame", "-b:a", "96k")  # fmt: skip


def moving_clip(path, seconds, *, size="320x180"):
    return render(path, "-f", "lavfi", "-i", f"testsrc2=s={size}:r=30:d={seconds}",
                  "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")  # fmt: skip


def assemble(manifest: dict, directory: Path, *, ffmpeg=None, name="final.mp4") -> Path:
    """Run scripts/assemble_video.py on `manifest`; returns the final video."""
    manifest_path = directory / "manifest.json"
    manifest_path.write_text(json.dumps(manifest))
    output = directory / name
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIDEOGEN_")}
    if ffmpeg:
        env["FFMPEG_BINARY"] = ffmpeg
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "assemble_video.py"), "--manifest",
         str(manifest_path), "--output", str(output)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return output
