"""Beat sends the periodic Notion tasks only while some channel has a Notion board: an
installation without Notion sends (and logs) nothing for them. A real beat process on the test
database and Redis."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import ChannelFactory
from tests.stack import wait_for

CELERY = Path(sys.executable).parent / "celery"
PROCFILE_SCHEDULER = "videogen.beat:Scheduler"


@pytest.fixture
def beat(broker, tmp_path):
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "VIDEOGEN_DATA_DIR": str(tmp_path),
        "NOTION_POLL_SECONDS": "1",
        "WATCHDOG_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "console",
    }
    log_path = tmp_path / "beat.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603
            [CELERY, "-A", "videogen", "beat", "-S", PROCFILE_SCHEDULER, "-l", "INFO"],
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process.log = lambda: log_path.read_text(errors="replace")
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def _sent_tasks(broker):
    return [json.loads(message)["headers"]["task"] for message in broker.lrange("control", 0, -1)]


@pytest.mark.django_db(transaction=True)
def test_it_sends_no_notion_poll_until_a_channel_has_a_board(beat, broker):
    ChannelFactory(id="noboard", notion_database_id="")
    wait_for(lambda: "beat: Starting" in beat.log(), timeout=30, describe=beat.log)
    # Three poll periods: a poll would have been sent (and logged) by now.
    time.sleep(3.5)

    assert "pipeline.notion_poll" not in _sent_tasks(broker)
    assert "notion-poll" not in beat.log() and "notion-push-pending" not in beat.log()
    assert beat.poll() is None, beat.log()

    ChannelFactory(id="withboard", notion_database_id="a" * 32)
    wait_for(
        lambda: "pipeline.notion_poll" in _sent_tasks(broker),
        timeout=15,
        describe=lambda: f"sent {_sent_tasks(broker)}; log:\n{beat.log()}",
    )
    assert "Sending due task notion-poll (pipeline.notion_poll)" in beat.log()


@pytest.mark.django_db(transaction=True)
def test_its_scheduler_loop_records_the_heartbeat_and_wakes_at_least_every_watchdog_interval(
    beat,
):
    from pipeline.models import Heartbeat

    wait_for(lambda: Heartbeat.objects.filter(kind="beat").exists(), timeout=30, describe=beat.log)
    first = Heartbeat.objects.get(kind="beat").seen_at
    # No schedule is due every second: only a loop that wakes every WATCHDOG_INTERVAL_SECONDS (1)
    # moves the heartbeat this soon.
    wait_for(lambda: Heartbeat.objects.get(kind="beat").seen_at > first, timeout=10)


def test_it_runs_the_scheduler_the_settings_and_the_procfile_name():
    from tests.foundation.test_procfile import _processes

    assert settings.CELERY_BEAT_SCHEDULER == PROCFILE_SCHEDULER
    assert f"-S {PROCFILE_SCHEDULER}" in _processes()["beat"]
