"""What the operator's stand-in scripts share (the pipeline never calls this file): FFmpeg, a log
of every call's argv in $OPERATOR_CALLS_FILE, and failure on demand: $OPERATOR_FAIL_FIRST_<SCRIPT>
makes the first run for each output print a traceback and exit 1, as an old script does when an
API hiccups ($OPERATOR_FAIL_ALWAYS_<SCRIPT>: every run)."""

import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

import imageio_ffmpeg


def log_call(name, output):
    calls = os.environ.get("OPERATOR_CALLS_FILE")
    if calls:
        with open(calls, "a") as handle:
            handle.write(json.dumps({"script": name, "argv": sys.argv[1:]}) + "\n")
    marker = Path(f"{output}.failed-once")
    always = os.environ.get(f"OPERATOR_FAIL_ALWAYS_{name.upper()}")
    if always or (os.environ.get(f"OPERATOR_FAIL_FIRST_{name.upper()}") and not marker.exists()):
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("")
        print(f"Working on {output} ...")
        print("Traceback (most recent call last):", file=sys.stderr)
        print("ConnectionResetError: [Errno 104] Connection reset by peer", file=sys.stderr)
        sys.exit(1)


def ffmpeg(*args):
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    subprocess.run(command, check=True)  # noqa: S603


def main(name, work):
    """Run work(); any failure is a traceback on stderr and exit 1 (no other codes known)."""
    try:
        work()
    except Exception:
        traceback.print_exc()
        print(f"{name}: failed", file=sys.stderr)
        sys.exit(1)
