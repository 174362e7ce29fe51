"""Pipeline benchmark on the real stack (PostgreSQL, Redis, a Celery worker process), with fake
scripts of fixed latency L so the orchestration itself is what is measured.

Prints:
- one 18-scene video: wall time against the lower bound given the caps (the sum over steps of
  ceil(units / cap) x L, steps being sequential), as a ratio (goal <= 1.25);
- orchestration overhead per script call: a unit's claim-to-record time minus the script's own
  run time (median and p95, ms);
- 20 videos across 5 channels: videos per hour at that latency, the batch's time against the bound
  the caps allow (batch_bound; goal <= 1.15), and the time to its first finished video against
  one video's bound (goal <= 1.3).

Run: make bench (or .venv/bin/python bench/pipeline.py [--latency 0.5] [--skip-batch] [--embedded]
[--keep-calls FILE], the last keeping the script call log: each call's script, output, start and
end, to read a provider's slot use over time). Uses its own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/videogen_bench) and Redis db 15 (the test runs draw 1-14), which
it empties when it starts. --embedded runs one video on `make demo`'s default instead (SQLite and
the folder broker, in a temporary folder; goal <= 1.3).
"""

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/videogen_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
CAPS = {"gemini": 5, "kie": 5, "elevenlabs": 3, "ffmpeg": 2}


def prepare_environment(tmp, latency, *, embedded=False):
    if not embedded:
        import psycopg

        admin_url = DB_URL.rsplit("/", 1)[0] + "/postgres"
        name = DB_URL.rsplit("/", 1)[1]
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    media = tmp / "media"
    media.mkdir()
    env = {
        "DATABASE_URL": DB_URL,
        "REDIS_URL": REDIS_URL,
        "DJANGO_SECRET_KEY": "bench-secret",
        "FIELD_ENCRYPTION_KEY": "bench-salt",
        "VIDEOGEN_DATA_DIR": str(tmp / "data"),
        "WORKSPACE_ROOT": str(tmp / "workspace"),
        "VIDEOGEN_SCRIPTS_DIR": str(ROOT / "tests" / "pipeline" / "fake_scripts"),
        "FAKE_CALLS_FILE": str(tmp / "calls.jsonl"),
        "FAKE_MEDIA_DIR": str(media),
        "FAKE_LATENCY": str(latency),
        "LOG_LEVEL": "WARNING",
        "PIPELINE_MAX_ACTIVE_VIDEOS": "20",
        **{f"PROVIDER_CAP_{name.upper()}": str(cap) for name, cap in CAPS.items()},
    }
    if embedded:  # `make demo`'s default: SQLite and the folder broker, in the data folder
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
            env.pop(name, None)
            os.environ.pop(name, None)
    os.environ.update(env)
    return media


def make_media(folder):
    import imageio_ffmpeg
    from PIL import Image

    Image.new("RGB", (64, 36), (40, 120, 60)).save(folder / "template.png")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    quiet = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"]
    subprocess.run([*quiet, "testsrc=size=64x36:rate=10:duration=1", "-pix_fmt", "yuv420p",
                    str(folder / "template.mp4")], check=True)  # fmt: skip
    subprocess.run(
        [*quiet, "sine=frequency=440:duration=1", str(folder / "template.mp3")], check=True
    )


def start_worker(log_path, concurrency):
    command = [sys.executable, "-m", "celery", "-A", "videogen", "worker", "--pool", "threads",
               "--concurrency", str(concurrency), "--queues", "control,units",
               "--without-gossip", "--without-mingle", "--without-heartbeat",
               "--loglevel", "WARNING",
               "--hostname", f"bench-{os.getpid()}@%h"]  # fmt: skip
    from pipeline.processes import die_with_parent

    worker = subprocess.Popen(command, cwd=ROOT, stdout=open(log_path, "wb"),  # noqa: SIM115
                              stderr=subprocess.STDOUT, start_new_session=True,
                              preexec_fn=die_with_parent)  # fmt: skip
    time.sleep(3)
    return worker


def storyboard(scenes, title="Bench"):
    return {
        "title": title,
        "atmosphere": "",
        "assets": [{"id": f"env{i}", "kind": "environment", "prompt": "a place"} for i in range(2)]
        + [{"id": f"char{i}", "kind": "character", "prompt": "a creature"} for i in range(2)],
        "scenes": [
            {
                "id": f"s{n:02d}",
                "composite": {
                    "environment": f"env{n % 2}",
                    "character": f"char{n % 2}",
                    "scale": 1.0,
                },
                "motion": "pan",
                "narration": "Words to say.",
                "sfx": "wind",
                "duration": 5,
            }
            for n in range(1, scenes + 1)
        ],
    }


def _steps(scenes, assets):
    return [("gemini", assets), ("ffmpeg", scenes), ("kie", scenes), ("elevenlabs", scenes),
            ("elevenlabs", scenes), ("ffmpeg", 1)]  # fmt: skip


def lower_bound(scenes, assets, latency):
    return sum(
        math.ceil(count / CAPS[provider]) * latency for provider, count in _steps(scenes, assets)
    )


def batch_bound(videos, scenes, assets, latency):
    """The least time the caps allow for `videos` videos: for each provider, one video's steps
    before its first use of the provider, all the videos' calls to it at its cap back to back,
    then one video's steps after its last use; the largest of these."""
    steps = _steps(scenes, assets)
    one = [math.ceil(count / CAPS[provider]) * latency for provider, count in steps]
    bounds = {}
    for provider in {p for p, _ in steps}:
        uses = [index for index, (p, _) in enumerate(steps) if p == provider]
        calls = videos * sum(count for p, count in steps if p == provider)
        busy = math.ceil(calls / CAPS[provider]) * latency
        bounds[provider] = sum(one[: uses[0]]) + busy + sum(one[uses[-1] + 1 :])
    provider = max(bounds, key=bounds.get)
    return bounds[provider], provider


STEP_SCRIPTS = [("generate_asset", "gemini"), ("create_composite", "ffmpeg"),
                ("generate_video", "kie"), ("generate_audio", "elevenlabs"),
                ("generate_sound_effects", "elevenlabs"), ("assemble_video", "ffmpeg")]  # fmt: skip


def handoff_ms(calls_file, created):
    """Per script call, the time from the moment it could have run to its process's exec: for
    the first `cap` calls of a step, from the end of the previous step (or the video's creation);
    for the k-th call after that, from the end of the (k - cap)-th call, whose slot it takes.
    This is the orchestration's own cost: claim, slot, fork/exec, step hops, Celery messages."""
    import json

    calls = [json.loads(line) for line in calls_file.read_text().splitlines()]
    ready, result = created, []
    for script, provider in STEP_SCRIPTS:
        mine = [c for c in calls if c["script"] == script]
        starts = sorted(c["exec_t"] for c in mine if c["event"] == "start")
        ends = sorted(c["t"] for c in mine if c["event"] == "done")
        cap = CAPS[provider]
        for k, start in enumerate(starts):
            result.append((start - (ready if k < cap else ends[k - cap])) * 1000)
        ready = ends[-1]
    return result


def cpu_seconds(pid):
    """CPU time (user + system) of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(len(ordered) * p / 100) - 1)]


def wait_all(tasks, status, timeout):
    """Wait for every task to reach status; returns the monotonic time the first one did."""
    from pipeline.models import VideoTask

    ids = [t.pk for t in tasks]
    deadline = time.monotonic() + timeout
    first = None
    while time.monotonic() < deadline:
        done = VideoTask.objects.filter(pk__in=ids, status=status).count()
        if done and first is None:
            first = time.monotonic()
        if done == len(ids):
            return first
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {len(ids)} tasks to reach {status}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-batch", action="store_true", help="one video only")
    parser.add_argument("--keep-calls", type=Path, help="copy the script call log here at the end")
    parser.add_argument("--embedded", action="store_true",
                        help="one video on the embedded default (SQLite, folder broker)")
    options = parser.parse_args()
    options.skip_batch = options.skip_batch or options.embedded
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        media = prepare_environment(tmp, options.latency, embedded=options.embedded)
        make_media(media)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")
        import django

        django.setup()
        import redis
        from django.core.management import call_command

        from pipeline.services import video_task_create
        from pipeline.status import Status
        from tests.factories import ChannelFactory

        if not options.embedded:
            redis.Redis.from_url(REDIS_URL).flushdb()
        call_command("migrate", verbosity=0)
        providers = {"image": "gemini", "video": "kie", "voice": "elevenlabs", "upload": "local"}
        channels = [
            ChannelFactory(id=f"bench{i}", max_concurrent=10, providers=providers,
                           budget_daily_usd=10_000, budget_weekly_usd=10_000)
            for i in range(5)
        ]  # fmt: skip
        worker = start_worker(tmp / "worker.log", options.concurrency)
        try:
            latency = options.latency
            print(f"latency L = {latency} s, caps {CAPS}, worker threads {options.concurrency}")
            started, created = time.monotonic(), time.time()
            task = video_task_create(channel=channels[0], storyboard=storyboard(18))
            wait_all([task], Status.FINAL_REVIEW, timeout=600)
            wall = time.monotonic() - started
            bound = lower_bound(18, 4, latency)
            goal = 1.3 if options.embedded else 1.25
            print(f"one video, 18 scenes{' (embedded default)' if options.embedded else ''}: "
                  f"{wall:.2f} s; lower bound {bound:.2f} s; ratio {wall / bound:.3f} "
                  f"(goal <= {goal})")  # fmt: skip

            handoffs = handoff_ms(Path(os.environ["FAKE_CALLS_FILE"]), created)
            print(f"orchestration overhead per call (a slot or the step coming free -> the next "
                  f"script exec'd): median {statistics.median(handoffs):.0f} ms, "
                  f"p95 {percentile(handoffs, 95):.0f} ms over {len(handoffs)} calls")  # fmt: skip

            print(f"worker CPU so far: {cpu_seconds(worker.pid):.1f} s "
                  f"(machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")  # fmt: skip
            if options.skip_batch:
                return
            worker_cpu = cpu_seconds(worker.pid)
            started = time.monotonic()
            batch = [
                video_task_create(channel=channels[i % 5], storyboard=storyboard(18, f"Batch {i}"))
                for i in range(20)
            ]
            first = wait_all(batch, Status.FINAL_REVIEW, timeout=3600) - started
            wall = time.monotonic() - started
            bound, busiest = batch_bound(20, 18, 4, latency)
            print(f"20 videos x 18 scenes across 5 channels: {wall:.1f} s -> "
                  f"{20 * 3600 / wall:.0f} videos/hour at L = {latency} s; bound the caps allow "
                  f"{bound:.1f} s ({busiest} busy throughout); ratio {wall / bound:.3f} "
                  f"(goal <= 1.15)")  # fmt: skip
            units = 20 * (4 + 4 * 18 + 1)
            print(f"worker CPU for the batch: {cpu_seconds(worker.pid) - worker_cpu:.1f} s, "
                  f"{(cpu_seconds(worker.pid) - worker_cpu) / units * 1000:.0f} ms per unit "
                  f"(machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")  # fmt: skip
            one = lower_bound(18, 4, latency)
            print(f"first finished video of the batch: {first:.1f} s; one video's bound "
                  f"{one:.2f} s; ratio {first / one:.3f} (goal <= 1.3)")  # fmt: skip
        finally:
            os.killpg(worker.pid, 15)
            worker.wait(timeout=30)
            if options.keep_calls:
                shutil.copy(os.environ["FAKE_CALLS_FILE"], options.keep_calls)


if __name__ == "__main__":
    main()
