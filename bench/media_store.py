"""Media store benchmark: one 18-scene video made with the bucket (an S3-compatible server on
127.0.0.1, moto's server mode) against the same video with the local folder, on the real stack
(PostgreSQL, Redis, a Celery worker process) and fake scripts of fixed latency L that hand out
media of realistic size (a 1920x1080 clip, 1024x1024 images, narration), so what differs between
the two runs is the media moving through the store.

Prints, for the bucket run: the bytes moved (inputs fetched into scratch folders, outputs and
paid leftovers stored), the seconds spent moving them (the time during which some unit was moving
media, and the sum over units), and the whole video's time against the local folder's, measured
in the same run (a ratio).

Run: make bench (or .venv/bin/python bench/media_store.py [--latency 0.5]). Uses the database
and Redis db of bench/pipeline.py (BENCH_DATABASE_URL, BENCH_REDIS_URL).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import prepare_environment, storyboard, wait_all  # noqa: E402

SCENES = 18


def make_media(folder):
    """Media of the size the real providers return: a 1080p clip of a few MB, images of a few MB
    (noise does not compress), a narration of a few seconds."""
    import imageio_ffmpeg
    from PIL import Image

    Image.frombytes("RGB", (1024, 1024), os.urandom(1024 * 1024 * 3)).save(folder / "template.png")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    quiet = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"]
    subprocess.run([*quiet, "testsrc2=size=1920x1080:rate=24:duration=2", "-pix_fmt", "yuv420p",
                    "-b:v", "8M", str(folder / "template.mp4")], check=True)  # fmt: skip
    subprocess.run(
        [*quiet, "sine=frequency=440:duration=5", "-b:a", "128k", str(folder / "template.mp3")],
        check=True,
    )


def start_worker(env, log_path, concurrency):
    from pipeline.processes import die_with_parent

    command = [sys.executable, "-m", "celery", "-A", "videogen", "worker", "--pool", "threads",
               "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
               "--without-heartbeat", "--loglevel", "INFO",
               "--hostname", f"bench-media-{os.getpid()}-{time.monotonic_ns()}@%h"]  # fmt: skip
    worker = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=open(log_path, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while b"ready." not in log_path.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start: {log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return worker


def moved(log_path):
    """(bytes, seconds summed over units, seconds of the video during which some unit was moving
    media) from the worker's unit_media_moved log lines."""
    total_bytes, total_seconds, spans = 0, 0.0, []
    for line in log_path.read_text(errors="replace").splitlines():
        if '"unit_media_moved"' not in line:
            continue
        try:
            entry = json.loads(line[line.index("{") :])
        except ValueError:
            continue
        total_bytes += entry.get("bytes", 0)
        total_seconds += entry.get("seconds", 0.0)
        spans += [tuple(span) for span in entry.get("spans", [])]
    return total_bytes, total_seconds, _union_seconds(spans)


def _union_seconds(spans):
    covered, end = 0.0, None
    for start, stop in sorted(spans):
        if end is None or start > end:
            covered += stop - start
            end = stop
        elif stop > end:
            covered += stop - end
            end = stop
    return covered


def run_video(mode, tmp, channel, bucket_env, concurrency):
    from pipeline.services import video_task_create
    from pipeline.status import Status

    folder = tmp / mode
    folder.mkdir()
    env = {
        **os.environ,
        "VIDEOGEN_DATA_DIR": str(folder / "data"),
        "WORKSPACE_ROOT": str(folder / "workspace"),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        **bucket_env,
    }
    log_path = folder / "worker.log"
    worker = start_worker(env, log_path, concurrency)
    try:
        started = time.monotonic()
        task = video_task_create(channel=channel, storyboard=storyboard(SCENES, f"Media {mode}"))
        wait_all([task], Status.FINAL_REVIEW, timeout=900)
        wall = time.monotonic() - started
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
    return wall, *moved(log_path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=16)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        media = prepare_environment(tmp, options.latency)
        make_media(media)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")
        import django

        django.setup()
        import boto3
        import redis
        from django.core.management import call_command

        from tests.factories import ChannelFactory
        from tests.faults.servers import S3Server

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
        call_command("migrate", verbosity=0)
        providers = {"image": "gemini", "video": "kie", "voice": "elevenlabs", "upload": "local"}
        channel = ChannelFactory(id="benchmedia", max_concurrent=10, providers=providers,
                                 budget_daily_usd=10_000, budget_weekly_usd=10_000)  # fmt: skip
        server = S3Server().start()
        try:
            bucket_env = {
                "AWS_S3_BUCKET_NAME": "videogen-bench",
                "AWS_ENDPOINT_URL": server.url,
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench-secret",
            }
            boto3.client(
                "s3", endpoint_url=server.url, region_name="us-east-1",
                aws_access_key_id="bench", aws_secret_access_key="bench-secret",
            ).create_bucket(Bucket="videogen-bench")  # fmt: skip
            print(f"one video, {SCENES} scenes, latency L = {options.latency} s, "
                  f"worker threads {options.concurrency}")  # fmt: skip
            local_wall, *_ = run_video("local", tmp, channel, {}, options.concurrency)
            print(f"local folder: {local_wall:.1f} s")
            wall, moved_bytes, summed, spanned = run_video(
                "bucket", tmp, channel, bucket_env, options.concurrency
            )
            print(f"bucket: {wall:.1f} s; {moved_bytes / 1e6:.1f} MB moved; some unit was moving "
                  f"media during {spanned:.1f} s of the video ({summed:.1f} s summed over units, "
                  f"which move in parallel)")  # fmt: skip
            print(f"whole video, bucket / local folder: {wall / local_wall:.2f}x")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
