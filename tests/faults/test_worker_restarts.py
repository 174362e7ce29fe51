"""A worker in a restart loop (dying and restarted by its supervisor) raises an alarm naming its
host; a worker started once does not."""

import datetime as dt

import pytest

from core.models import Alert
from pipeline.clock import db_now
from pipeline.models import WorkerStart
from pipeline.watchdog import check_worker_restarts, watchdog_run

pytestmark = [pytest.mark.integration, pytest.mark.fault, pytest.mark.django_db(transaction=True)]


def test_a_worker_restarted_four_times_in_a_few_minutes_raises_an_alarm_naming_its_host(
    pipeline_env, worker, settings
):
    settings.WORKER_RESTART_ALERT_COUNT = 3
    for _ in range(4):
        worker.start(concurrency=1, hostname="looping@node-7")
        worker.kill()  # what an out-of-memory kill does; the supervisor starts it again

    assert WorkerStart.objects.filter(hostname="looping@node-7").count() == 4
    watchdog_run()

    alert = Alert.objects.get(key="watchdog:worker-restarts:looping@node-7")
    assert alert.level == "WARNING"
    assert "looping@node-7" in alert.title and "4 starts" in alert.message


def test_a_worker_started_once_raises_nothing(pipeline_env, worker):
    worker.start(concurrency=1, hostname="steady@node-8")

    assert check_worker_restarts() is None


def test_starts_outside_the_window_do_not_count_and_old_ones_are_forgotten(db, settings):
    now = db_now()
    for minutes in (15, 20, 25, 30, 60 * 30):
        WorkerStart.objects.create(
            hostname="w@old", instance="x", started_at=now - dt.timedelta(minutes=minutes)
        )

    assert check_worker_restarts(now=now) is None
    assert WorkerStart.objects.count() == 4  # the one older than a day is gone
