"""The real stack for tests, a pytest plugin loaded by tests/conftest.py: a real Celery worker
process on Redis and the PostgreSQL test database, and fake scripts that follow the script
contract and count their calls."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from pipeline.processes import die_with_parent
from tests.factories import ChannelFactory

FAKE_SCRIPTS = Path(__file__).parent / "pipeline" / "fake_scripts"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fake_media(tmp_path_factory):
    """Tiny but real media for the fake scripts to hand out."""
    import imageio_ffmpeg
    from PIL import Image

    folder = tmp_path_factory.mktemp("fake-media")
    Image.new("RGB", (64, 36), (40, 120, 60)).save(folder / "template.png")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    quiet = ["-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run(
        [ffmpeg, *quiet, "-f", "lavfi", "-i", "testsrc=size=64x36:rate=10:duration=1",
         "-pix_fmt", "yuv420p", str(folder / "template.mp4")],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [ffmpeg, *quiet, "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
         str(folder / "template.mp3")],
        check=True,
    )  # fmt: skip
    return folder


class Calls:
    """What the fake scripts did, read from their log."""

    def __init__(self, path):
        self.path = path

    def entries(self):
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def count(self, event, script=None):
        return sum(
            1
            for entry in self.entries()
            if entry["event"] == event and (script is None or entry["script"] == script)
        )

    def completions_per_output(self):
        counts = {}
        for entry in self.entries():
            if entry["event"] == "done":
                counts[entry["output"]] = counts.get(entry["output"], 0) + 1
        return counts

    def max_concurrent(self, scripts):
        events = []
        for entry in self.entries():
            if entry["script"] not in scripts:
                continue
            if entry["event"] == "start":
                events.append((entry["t"], 1))
            elif entry["event"] == "done" or entry["event"].startswith("exit"):
                events.append((entry["t"], -1))
        running = peak = 0
        for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
            running += delta
            peak = max(peak, running)
        return peak


class Worker:
    """A real `celery worker` process; start() and kill() as a test needs."""

    def __init__(self, env, log_dir, prelude=""):
        self.env = env
        self.prelude = prelude  # Python run in the worker process before Celery and Django
        self.log_dir = log_dir
        self.process = None
        self.count = 0

    def start(self, concurrency=8, pool="threads", hostname=None, queues="control,units"):
        self.count += 1
        log_path = self.log_dir / f"worker-{self.count}.log"
        self.log_path = log_path
        launcher = ["-m", "celery"]
        if self.prelude:
            launcher = ["-c", f"{self.prelude}\nfrom celery.__main__ import main\nmain()"]
        command = [
            sys.executable, *launcher, "-A", "videogen", "worker",
            "--pool", pool, "--concurrency", str(concurrency),
            *(["--queues", queues] if queues else []), "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--loglevel", "INFO",
            "--hostname", hostname or f"test-{uuid.uuid4().hex[:6]}@%h",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=self.env,
            stdout=open(log_path, "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # an aborted test run leaves no worker behind
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if b"ready." in log_path.read_bytes():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready in 30 s: {log_path.read_text()[-3000:]}")

    def kill(self):
        """SIGKILL the whole worker (main process and its threads)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log(self):
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def broker():
    """An empty Redis database for this test's messages."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def pipeline_env(transactional_db, workspace, tmp_path, fake_media, broker, settings):
    """Environment shared by the test process and its workers. Returns a dict a test may change
    before starting a worker (e.g. FAKE_PLAN_GENERATE_VIDEO)."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "WORKSPACE_ROOT": str(workspace),
            "VIDEOGEN_SCRIPTS_DIR": str(FAKE_SCRIPTS),
            "FAKE_CALLS_FILE": str(tmp_path / "calls.jsonl"),
            "FAKE_MEDIA_DIR": str(fake_media),
            "PIPELINE_RETRY_BACKOFF_BASE": "0.5",
            "PIPELINE_LEASE_SECONDS": "6",
            "LOG_LEVEL": "INFO",
        }
    )
    settings.SCRIPTS_DIR = FAKE_SCRIPTS
    settings.PIPELINE_LEASE_SECONDS = 6
    os.environ["FAKE_CALLS_FILE"] = env["FAKE_CALLS_FILE"]
    os.environ["FAKE_MEDIA_DIR"] = env["FAKE_MEDIA_DIR"]
    return env


@pytest.fixture
def calls(pipeline_env):
    return Calls(Path(pipeline_env["FAKE_CALLS_FILE"]))


@pytest.fixture
def worker(pipeline_env, tmp_path):
    handle = Worker(pipeline_env, tmp_path)
    yield handle
    handle.stop()


@pytest.fixture
def local_channel(transactional_db):
    return ChannelFactory(id="pokechannel1", review_gates=[], max_concurrent=5)


def process_alive(pid):
    """True while pid runs (a zombie awaiting its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_for(predicate, *, timeout=60, interval=0.2, describe=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout} s. {describe()}")
