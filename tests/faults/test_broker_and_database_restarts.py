"""Fault matrix 6 and 7: the broker and the database restarted under a running pipeline.

Both run on throwaway servers (tests/faults/servers.py), never on the machine's shared Redis or
PostgreSQL. Each test prints its numbers (time to recover, calls redone, money redone at the price
table) and appends them to artifacts/fault-numbers.jsonl.
"""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from celery import Celery
from django.db import connection

from costs.models import VideoCost
from pipeline.reconcile import pipeline_reconcile
from pipeline.services import video_task_create
from pipeline.status import Status
from tests.factories import ChannelFactory
from tests.faults.servers import ThrowawayPostgres, ThrowawayRedis
from tests.pipeline.conftest import FAKE_SCRIPTS, ROOT, Calls, Worker, wait_for
from tests.pipeline.test_pipeline_worker import describe, status_of, storyboard

pytestmark = [pytest.mark.fault, pytest.mark.integration]

# Real provider names, so that a redone call has a price; the fake scripts accept any name.
PROVIDERS = {"image": "gemini", "video": "kie", "voice": "elevenlabs", "upload": "local"}
SCENES = 4
ARTIFACT = ROOT / "artifacts" / "fault-numbers.jsonl"
COSTS_SQL = """
    SELECT w.output_path, c.usd FROM costs_videocost c
    JOIN pipeline_workitem w ON w.id = c.work_item_id WHERE c.task_id = %s
"""


def _worker_env(*, tmp_path, fake_media, broker_url, database_url=None):
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": broker_url,
            "CELERY_BROKER_URL": broker_url,
            "WORKSPACE_ROOT": str(tmp_path / "workspace"),
            "VIDEOGEN_SCRIPTS_DIR": str(FAKE_SCRIPTS),
            "FAKE_CALLS_FILE": str(tmp_path / "calls.jsonl"),
            "FAKE_MEDIA_DIR": str(fake_media),
            "PIPELINE_RETRY_BACKOFF_BASE": "0.5",
            "PIPELINE_LEASE_SECONDS": "6",
            "PIPELINE_RECONCILE_GRACE_SECONDS": "2",
            "LOG_LEVEL": "INFO",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def fault_numbers(*, fault, calls, cost_rows, recovery_seconds, extra=None):
    """Calls redone: script starts beyond one per output. Money redone: each redone call priced
    like the call that was paid for that output (its VideoCost, from the price table)."""
    usd_by_output = {output: Decimal(usd) for output, usd in cost_rows}
    starts = {}
    for entry in calls.entries():
        if entry["event"] == "start":
            starts[entry["output"]] = starts.get(entry["output"], 0) + 1
    redone = {output: count - 1 for output, count in starts.items() if count > 1}
    money = sum(
        (usd_by_output.get(output, Decimal(0)) * count for output, count in redone.items()),
        start=Decimal(0),
    )
    numbers = {
        "fault": fault,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "recovery_seconds": round(recovery_seconds, 2),
        "calls": sum(starts.values()),
        "calls_redone": sum(redone.values()),
        "usd_paid": str(sum(usd_by_output.values(), start=Decimal(0))),
        "usd_redone": str(money),
        "redone_outputs": sorted(Path(output).name for output in redone),
        **(extra or {}),
    }
    print(f"\nFAULT NUMBERS {json.dumps(numbers)}")
    ARTIFACT.parent.mkdir(exist_ok=True)
    with open(ARTIFACT, "a") as handle:
        handle.write(json.dumps(numbers) + "\n")
    return numbers


def in_flight(calls, at):
    """Outputs whose script had started and not finished at wall-clock time `at`."""
    started, finished = set(), set()
    for entry in calls.entries():
        if entry["t"] <= at:
            (started if entry["event"] == "start" else finished).add(entry["output"])
    return started - finished


def _assert_each_output_paid_once(calls, cost_count):
    per_output = calls.completions_per_output()
    assert per_output, "no script completed"
    assert set(per_output.values()) == {1}, per_output  # no call completed twice
    assert cost_count == calls.count("done")  # every completed call costed once


# --- Fault 6: Redis restarted mid pipeline, persistence off -----------------------------------


@pytest.fixture
def throwaway_redis():
    server = ThrowawayRedis().start()
    yield server
    server.cleanup()


@pytest.fixture
def broker_is(settings):
    """Point this test process's Celery app at another broker, and back afterwards."""
    from videogen.celery import app

    saved = app.conf.broker_url

    def _reset_pools():
        # kombu keeps producer pools in a process-wide registry keyed by connection: clear it
        # too, or the next publish finds a pool whose connections were closed here.
        from kombu import pools

        if app._pool is not None:
            app._pool.force_close_all()
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    def switch(url):
        settings.CELERY_BROKER_URL = url
        app.conf.broker_url = url
        _reset_pools()

    yield switch
    app.conf.broker_url = saved
    _reset_pools()


@pytest.mark.django_db(transaction=True)
def test_fault_6_redis_restarted_without_persistence_the_reconciler_redispatches(
    throwaway_redis, broker_is, workspace, tmp_path, fake_media, settings
):
    broker_is(throwaway_redis.url)
    db = connection.settings_dict  # the test database: the worker must see this test's rows
    env = _worker_env(
        tmp_path=tmp_path,
        fake_media=fake_media,
        broker_url=throwaway_redis.url,
        database_url=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    )
    env["WORKSPACE_ROOT"] = str(workspace)
    env["FAKE_LATENCY_GENERATE_VIDEO"] = "3"
    os.environ["FAKE_CALLS_FILE"] = env["FAKE_CALLS_FILE"]
    os.environ["FAKE_MEDIA_DIR"] = env["FAKE_MEDIA_DIR"]
    settings.SCRIPTS_DIR = FAKE_SCRIPTS
    settings.PIPELINE_LEASE_SECONDS = 6
    settings.PIPELINE_RECONCILE_GRACE_SECONDS = 2
    calls = Calls(Path(env["FAKE_CALLS_FILE"]))
    channel = ChannelFactory(
        id="faultredis", review_gates=[], max_concurrent=5, providers=PROVIDERS
    )
    worker = Worker(env, tmp_path)
    try:
        worker.start()
        task = video_task_create(channel=channel, storyboard=storyboard(SCENES))
        wait_for(
            lambda: calls.count("start", "generate_video") >= 2,
            timeout=60,
            describe=lambda: describe(task, worker),
        )
        assert status_of(task) == Status.GENERATING_VIDEO

        # The fault: Redis dies and comes back empty; every queued and unacknowledged message
        # (the clips not started yet, the in-flight ones' acks) is gone.
        throwaway_redis.restart()
        fault_at, fault_wall = time.monotonic(), time.time()
        worker_restarts = 0

        def finished():
            nonlocal worker_restarts
            if worker.process.poll() is not None:
                # Celery issue 7185: a Redis restart can end the worker's main process. In
                # production the supervisor (Procfile process manager) starts it again; here the
                # test plays the supervisor.
                worker_restarts += 1
                worker.start()
            pipeline_reconcile()  # what beat does every minute; its grace here is 2 s
            return status_of(task) == Status.FINAL_REVIEW

        wait_for(finished, timeout=50, interval=1, describe=lambda: describe(task, worker))
        recovery = time.monotonic() - fault_at

        costs = VideoCost.objects.filter(task=task)
        _assert_each_output_paid_once(calls, costs.count())
        with connection.cursor() as cursor:
            cursor.execute(COSTS_SQL, [str(task.pk)])
            rows = cursor.fetchall()
        numbers = fault_numbers(
            fault="6: Redis restarted mid pipeline (persistence off)",
            calls=calls,
            cost_rows=rows,
            recovery_seconds=recovery,
            extra={
                "worker_restarts": worker_restarts,
                "in_flight_at_fault": len(in_flight(calls, fault_wall)),
            },
        )
        assert Decimal(numbers["usd_paid"]) > 0
        # Only calls in flight at the fault may be redone (their worker may have died with them).
        assert numbers["calls_redone"] <= numbers["in_flight_at_fault"]
    finally:
        worker.stop()


# --- Fault 7: PostgreSQL restarted mid pipeline ---------------------------------------------

CREATE_TASK = """
import json, sys
import django
django.setup()
from channels_app.models import Channel
from pipeline.services import video_task_create
data = json.loads(sys.stdin.read())
channel = Channel.objects.create(
    id="faultpostgres", name="Fault PostgreSQL", review_gates=[], max_concurrent=5,
    providers=data["providers"], budget_daily_usd="50", budget_weekly_usd="300",
)
task = video_task_create(channel=channel, storyboard=data["storyboard"])
print(task.pk)
"""


@pytest.fixture
def throwaway_postgres():
    server = ThrowawayPostgres().start()
    yield server
    server.cleanup()


def _query(url, sql, params=()):
    """A fresh connection per query: the server may have restarted since the last one."""
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3) as db:
        return db.execute(sql, params).fetchall()


def _run_with_database_outage(
    throwaway_postgres, throwaway_redis, tmp_path, fake_media, *, down_seconds, worker_env=None
):
    """A video on a worker, PostgreSQL stopped for down_seconds while clips run, then started
    again; beat's reconcile message sent every second. Returns the fault's numbers, with the
    seconds from the database's return to final review."""
    database_url = throwaway_postgres.url
    env = _worker_env(
        tmp_path=tmp_path,
        fake_media=fake_media,
        broker_url=throwaway_redis.url,
        database_url=database_url,
    )
    env["FAKE_LATENCY_GENERATE_VIDEO"] = "4"
    env.update(worker_env or {})
    (tmp_path / "workspace").mkdir()
    calls = Calls(Path(env["FAKE_CALLS_FILE"]))

    def manage(*args, stdin=None):
        return subprocess.run(  # noqa: S603
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    manage("manage.py", "migrate", "--noinput")
    worker = Worker(env, tmp_path)
    # Beat's part: the reconcile message, sent through the throwaway broker.
    # Not the current app: shared tasks sent later in this test process would follow it to a
    # broker that is gone (under xdist, the next test on this process failed to publish).
    beat = Celery("fault-beat", broker=throwaway_redis.url, set_as_current=False)

    def status():
        try:
            return _query(database_url, "SELECT status FROM pipeline_videotask")[0][0]
        except psycopg.OperationalError:
            return "(database unreachable)"

    def describe_run():
        try:
            items = _query(
                database_url, "SELECT step, unit, state, attempts, error FROM pipeline_workitem"
            )
        except psycopg.OperationalError as error:
            items = str(error)
        return f"status={status()} items={items}\n{worker.log()[-5000:]}"

    try:
        worker.start(pool="threads", concurrency=16)
        payload = json.dumps({"providers": PROVIDERS, "storyboard": storyboard(SCENES)})
        task_id = manage("-c", CREATE_TASK, stdin=payload).stdout.strip().splitlines()[-1]
        wait_for(
            lambda: calls.count("start", "generate_video") >= 2,
            timeout=60,
            describe=describe_run,
        )
        assert status() == Status.GENERATING_VIDEO

        # The fault: PostgreSQL goes away (every connection dropped) and is back later.
        throwaway_postgres.stop()
        fault_at, fault_wall = time.monotonic(), time.time()
        time.sleep(down_seconds)
        throwaway_postgres.start()
        back_at = time.monotonic()

        def finished():
            assert worker.process.poll() is None, "the worker exited"
            beat.send_task("pipeline.reconcile", queue="control")
            return status() == Status.FINAL_REVIEW

        wait_for(finished, timeout=150, interval=1, describe=describe_run)
        recovery = time.monotonic() - fault_at

        cost_count = _query(
            database_url, "SELECT count(*) FROM costs_videocost WHERE task_id = %s", [task_id]
        )[0][0]
        _assert_each_output_paid_once(calls, cost_count)
        lost_alerts = _query(
            database_url, "SELECT count(*) FROM pipeline_alert WHERE key LIKE 'worker-lost:%%'"
        )[0][0]
        numbers = fault_numbers(
            fault=f"7: PostgreSQL stopped mid pipeline ({down_seconds} s down)",
            calls=calls,
            cost_rows=_query(database_url, COSTS_SQL, [task_id]),
            recovery_seconds=recovery,
            extra={
                "in_flight_at_fault": len(in_flight(calls, fault_wall)),
                "seconds_to_final_review_after_return": round(time.monotonic() - back_at, 2),
                "workers_taken_for_lost": lost_alerts,
            },
        )
        assert Decimal(numbers["usd_paid"]) > 0
        return numbers
    finally:
        worker.stop()
        beat.close()


def test_fault_7_postgresql_restarted_mid_pipeline_connections_recover(
    throwaway_postgres, throwaway_redis, tmp_path, fake_media
):
    numbers = _run_with_database_outage(
        throwaway_postgres, throwaway_redis, tmp_path, fake_media, down_seconds=2
    )
    # The heartbeat rides out the outage: a running paid call is never killed for it.
    assert numbers["calls_redone"] == 0


def test_fault_7_postgresql_stopped_30_seconds_work_resumes_within_90_seconds_of_its_return(
    throwaway_postgres, throwaway_redis, tmp_path, fake_media
):
    # The production lease and reconciler grace: recovery must not wait for either.
    numbers = _run_with_database_outage(
        throwaway_postgres,
        throwaway_redis,
        tmp_path,
        fake_media,
        down_seconds=30,
        worker_env={"PIPELINE_LEASE_SECONDS": "900", "PIPELINE_RECONCILE_GRACE_SECONDS": "300"},
    )
    assert numbers["seconds_to_final_review_after_return"] <= 90
    assert numbers["calls_redone"] == 0
    assert numbers["workers_taken_for_lost"] == 0  # live workers were not taken for lost ones
