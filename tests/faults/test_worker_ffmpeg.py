"""The worker checks at start-up the FFmpeg the scripts will use, and refuses to start (78)
with one that cannot run what they need: before any unit is claimed and any money spent."""

import subprocess
import sys

import pytest

from tests.fakes.media import write_fake_ffmpeg
from tests.stack import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = [sys.executable, "-m", "celery", "-A", "videogen", "worker", "--pool", "solo",
          "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip


def start_worker(env):
    return subprocess.run(WORKER, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_a_worker_refuses_to_start_with_an_ffmpeg_older_than_5_1(pipeline_env, tmp_path):
    fake = write_fake_ffmpeg(tmp_path, version="4.4.2-0ubuntu0.22.04.1")

    worker = start_worker({**pipeline_env, "FFMPEG_BINARY": fake})

    output = worker.stdout + worker.stderr
    assert worker.returncode == 78, output[-3000:]
    assert (
        f"videogen worker refused to start: FFmpeg 4.4.2-0ubuntu0.22.04.1 at {fake} "
        "(FFMPEG_BINARY) is older than 5.1" in output
    )
    assert "ready." not in output


def test_a_worker_refuses_to_start_with_an_ffmpeg_that_fails_a_filter(pipeline_env, tmp_path):
    fake = write_fake_ffmpeg(tmp_path, failing="sidechaincompress")

    worker = start_worker({**pipeline_env, "FFMPEG_BINARY": fake})

    output = worker.stdout + worker.stderr
    assert worker.returncode == 78, output[-3000:]
    assert "asplit, sidechaincompress, amix (used by assembly (ducking sfx and music)) failed" in (
        output
    )
    assert "ready." not in output


def test_a_worker_prints_the_ffmpeg_it_checked_and_starts(pipeline_env, worker):
    import imageio_ffmpeg

    pipeline_env.pop("FFMPEG_BINARY", None)
    worker.start(concurrency=1)

    bundled = imageio_ffmpeg.get_ffmpeg_exe()
    assert f"at {bundled} (imageio-ffmpeg) runs every filter and encoder" in worker.log()
