"""Alarms when the machinery itself is down, each produced on real processes: a real `celery beat`
running the watchdog thread, real workers recording their heartbeats, a throwaway PostgreSQL that
stops, a Discord stand-in on 127.0.0.1. And none of them fires on a healthy run."""

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from django.utils import timezone

from core.models import Alert
from pipeline.doctor import check_beat, check_workers
from pipeline.models import Heartbeat, VideoTask, WorkItem, WorkState
from pipeline.processes import die_with_parent
from pipeline.services import video_task_create
from pipeline.status import Status
from tests.factories import ChannelFactory, VideoTaskFactory
from tests.faults.servers import ThrowawayPostgres
from tests.pipeline.test_pipeline_worker import storyboard
from tests.stack import ROOT, wait_for

pytestmark = [pytest.mark.fault, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Beat:
    """A real `celery beat` process, with the Procfile's scheduler (it records beat's heartbeat)."""

    def __init__(self, env, log_dir):
        self.env = {**env, "WATCHDOG_INTERVAL_SECONDS": "1"}
        self.log_path = log_dir / "beat.log"
        self.process = None

    def start(self):
        command = [
            sys.executable, "-m", "celery", "-A", "videogen", "beat",
            "-S", "videogen.beat:Scheduler",
            "--loglevel", "INFO", "--pidfile", "",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=self.env,
            stdout=open(self.log_path, "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self):
        return self.log_path.read_text(errors="replace")[-3000:]


@pytest.fixture
def beat(pipeline_env, tmp_path):
    handle = Beat(pipeline_env, tmp_path)
    yield handle
    handle.stop()


class DiscordStandIn:
    """Receives webhook posts on 127.0.0.1 as Discord would (204 No Content)."""

    def __init__(self):
        self.posts = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/webhooks/1/token"

    def titles(self):
        return [post["embeds"][0]["title"] for post in self.posts]


@pytest.fixture
def discord():
    stand_in = DiscordStandIn()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


def alert(key):
    return Alert.objects.filter(key=key).first()


def waiting_unit(channel_id="watched"):
    task = VideoTaskFactory(channel=ChannelFactory(id=channel_id), status=Status.GENERATING_ASSETS)
    return WorkItem.objects.create(
        task=task, step="assets", unit="forest", script="generate_asset", provider="local",
        output_path="/dev/null",
    )  # fmt: skip


def test_beat_raises_a_critical_alarm_when_no_worker_was_seen_while_work_waits(beat):
    waiting_unit()
    gone = timezone.now() - dt.timedelta(minutes=6)
    Heartbeat.objects.create(kind="worker", hostname="w1@host", seen_at=gone, started_at=gone)

    beat.start()

    wait_for(lambda: alert("watchdog:workers-silent"), timeout=60, describe=beat.log)
    found = alert("watchdog:workers-silent")
    assert found.level == "CRITICAL"
    assert "No Celery worker has reported for 5 min" in found.message
    assert Heartbeat.objects.filter(kind="beat").exists()  # beat's own tick is recorded


def test_beat_stays_quiet_about_workers_when_nothing_waits(beat):
    gone = timezone.now() - dt.timedelta(minutes=6)
    Heartbeat.objects.create(kind="worker", hostname="w1@host", seen_at=gone, started_at=gone)

    beat.start()
    wait_for(lambda: Heartbeat.objects.filter(kind="beat").exists(), timeout=60, describe=beat.log)
    first = Heartbeat.objects.get(kind="beat").seen_at
    wait_for(lambda: Heartbeat.objects.get(kind="beat").seen_at > first, timeout=30)

    assert not Alert.objects.exists()


def test_beat_raises_a_critical_alarm_when_every_running_unit_is_past_its_lease(beat):
    item = waiting_unit()
    expired = timezone.now() - dt.timedelta(minutes=10)
    WorkItem.objects.filter(pk=item.pk).update(
        state=WorkState.RUNNING, lease_owner="dead@host", lease_expires_at=expired, attempts=1
    )
    now = timezone.now()
    Heartbeat.objects.create(kind="worker", hostname="w1@host", seen_at=now, started_at=now)

    beat.start()

    wait_for(lambda: alert("watchdog:leases-stuck"), timeout=60, describe=beat.log)
    assert alert("watchdog:leases-stuck").level == "CRITICAL"
    assert not alert("watchdog:workers-silent")


@pytest.mark.parametrize(
    ("warning_gb", "critical_gb", "level"),
    [("1000000", "1", "WARNING"), ("1000000", "1000000", "CRITICAL")],
)
def test_beat_raises_an_alarm_when_the_workspace_runs_out_of_space(
    beat, warning_gb, critical_gb, level
):
    beat.env.update(WORKSPACE_FREE_WARNING_GB=warning_gb, WORKSPACE_FREE_CRITICAL_GB=critical_gb)

    beat.start()

    key = f"watchdog:workspace-space:{level}"
    wait_for(lambda: alert(key), timeout=60, describe=beat.log)
    assert alert(key).level == level
    assert "GB free" in alert(key).message


def test_beat_warns_when_over_a_fifth_of_the_last_hours_attempts_were_retries(beat):
    task = VideoTaskFactory(channel=ChannelFactory(id="flaky"), status=Status.GENERATING_VIDEO)
    now = timezone.now()
    for number in range(10):  # 10 units, 4 of them on their second attempt: 4/14 = 29 %
        WorkItem.objects.create(
            task=task, step="videos", unit=f"s{number:02d}", script="generate_video",
            provider="local", output_path="/dev/null", state=WorkState.DONE,
            attempts=2 if number < 4 else 1, started_at=now,
        )  # fmt: skip
    Heartbeat.objects.create(kind="worker", hostname="w1@host", seen_at=now, started_at=now)

    beat.start()

    wait_for(lambda: alert("watchdog:retry-rate"), timeout=60, describe=beat.log)
    assert alert("watchdog:retry-rate").level == "WARNING"
    assert "4 of 14 attempts" in alert("watchdog:retry-rate").message


def test_beat_sends_a_critical_alarm_straight_to_discord_when_the_database_stops(
    pipeline_env, tmp_path, discord
):
    with ThrowawayPostgres() as postgres:
        env = {**pipeline_env, "DATABASE_URL": postgres.url, "DISCORD_WEBHOOK_URL": discord.url}
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT, env=env, check=True, timeout=180,
        )  # fmt: skip
        beat = Beat(env, tmp_path).start()
        try:
            wait_for(lambda: postgres_has_beat_tick(postgres), timeout=60, describe=beat.log)
            assert discord.posts == []  # healthy: nothing sent

            postgres.stop()

            wait_for(
                lambda: "[CRITICAL] database unreachable from beat" in discord.titles(),
                timeout=60,
                describe=beat.log,
            )
            time.sleep(3)  # several more ticks with the database still down
            assert discord.titles().count("[CRITICAL] database unreachable from beat") == 1
        finally:
            beat.stop()


def postgres_has_beat_tick(postgres):
    url = postgres.url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, connect_timeout=3) as db:
        return db.execute("SELECT count(*) FROM pipeline_heartbeat WHERE kind = 'beat'").fetchone()[
            0
        ]


def test_a_healthy_run_raises_no_alarm_and_health_reports_workers_and_beat(
    pipeline_env, worker, beat, local_channel, client
):
    pipeline_env["WORKER_HEARTBEAT_SECONDS"] = "1"
    beat.env["WORKER_HEARTBEAT_SECONDS"] = "1"
    worker.start()
    beat.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(2))

    wait_for(
        lambda: VideoTask.objects.get(pk=task.pk).status == Status.FINAL_REVIEW,
        timeout=120,
        describe=lambda: worker.log()[-3000:] + beat.log(),
    )
    wait_for(lambda: Heartbeat.objects.filter(kind="beat").exists(), timeout=30)

    assert not Alert.objects.exists(), list(Alert.objects.values_list("title", "message"))
    response = client.get("/health")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["workers"] == "ok"
    assert response.json()["checks"]["beat"] == "ok"
    assert check_workers()[1] and check_beat()[1]

    worker.stop()
    beat.stop()
    stale = timezone.now() - dt.timedelta(minutes=10)
    Heartbeat.objects.update(seen_at=stale)

    assert client.get("/health").status_code == 200  # the web itself is fine
    response = client.get("/status")
    assert response.status_code == 503
    assert response.json()["failed"] == ["workers", "beat"]
    assert not check_workers()[1]
    assert "start beat" in check_beat()[2]
