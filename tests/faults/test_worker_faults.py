"""The fault matrix, worker side (design.md, "Reliability"): each test names its fault and asserts
that nothing is lost, nothing is paid twice and no script is left running. Real PostgreSQL, Redis
and Celery worker processes; fake scripts that count their calls."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from core.models import Alert
from costs.models import VideoCost
from pipeline import tasks
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.reconcile import pipeline_reconcile
from pipeline.services import video_task_create
from pipeline.status import Status
from tests.pipeline.conftest import ROOT, process_alive, wait_for
from tests.pipeline.test_pipeline_worker import describe, status_of, storyboard

pytestmark = [
    pytest.mark.integration,
    pytest.mark.fault,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def beat(settings):
    """What django-celery-beat does every minute, on demand and with a short grace."""
    settings.PIPELINE_RECONCILE_GRACE_SECONDS = 2

    def tick():
        pipeline_reconcile()

    return tick


def until_status(task, status, worker, beat=None, timeout=90):
    def reached():
        if beat:
            beat()
        return status_of(task) == status

    wait_for(reached, timeout=timeout, interval=0.5, describe=lambda: describe(task, worker))


def assert_paid_once(task, calls):
    assert set(calls.completions_per_output().values()) == {1}
    assert VideoCost.objects.filter(task=task).count() == calls.count("done")


def test_fault_1_pool_child_sigkilled_mid_clip(pipeline_env, worker, calls, local_channel, beat):
    pipeline_env["FAKE_LATENCY_GENERATE_VIDEO"] = "4"
    worker.start(concurrency=2, pool="prefork")
    task = video_task_create(channel=local_channel, storyboard=storyboard(1))
    wait_for(
        lambda: calls.count("start", "generate_video") == 1,
        timeout=60,
        describe=lambda: describe(task, worker),
    )
    (started,) = [e for e in calls.entries() if e["event"] == "start"
                  and e["script"] == "generate_video"]  # fmt: skip

    os.kill(started["ppid"], signal.SIGKILL)  # the pool child running the clip

    wait_for(lambda: not process_alive(started["pid"]), timeout=10)
    until_status(task, Status.FINAL_REVIEW, worker, beat)
    item = WorkItem.objects.get(task=task, step="videos")
    assert item.state == WorkState.DONE and item.attempts == 2
    assert_paid_once(task, calls)


def test_fault_3_visibility_timeout_shorter_than_the_step(
    pipeline_env, worker, calls, local_channel
):
    pipeline_env["CELERY_VISIBILITY_TIMEOUT"] = "3"
    pipeline_env["CELERY_UNACKED_RESTORE_INTERVAL"] = "1"
    pipeline_env["PIPELINE_LEASE_SECONDS"] = "30"
    pipeline_env["FAKE_LATENCY_GENERATE_VIDEO"] = "10"
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(2))

    until_status(task, Status.FINAL_REVIEW, worker, timeout=120)

    duplicates = worker.log().count('"event": "unit_not_claimed"')
    assert duplicates >= 1, "Redis redelivered nothing: the fault was not injected"
    assert calls.count("start", "generate_video") == 2  # one paid call per scene
    assert_paid_once(task, calls)


def test_fault_4_the_same_step_message_published_twice(pipeline_env, worker, calls, local_channel):
    pipeline_env["FAKE_LATENCY_GENERATE_ASSET"] = "1"
    task = video_task_create(channel=local_channel, storyboard=storyboard(1), queue=False)
    VideoTask.objects.filter(pk=task.pk).update(status=Status.GENERATING_ASSETS)

    tasks.run_step.apply_async(args=[str(task.pk), "assets"])
    tasks.run_step.apply_async(args=[str(task.pk), "assets"])
    worker.start()

    until_status(task, Status.FINAL_REVIEW, worker)
    assert calls.count("start", "generate_asset") == 2  # two assets, once each
    assert_paid_once(task, calls)


def test_fault_5_a_step_redelivered_after_the_next_step_was_sent(
    pipeline_env, worker, calls, local_channel
):
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(1))
    until_status(task, Status.FINAL_REVIEW, worker)
    done_before = calls.count("done")

    # The messages a crash before their ack would bring back, now that later steps have run.
    for step in ("assets", "composites", "videos", "assembly"):
        tasks.run_step.apply_async(args=[str(task.pk), step])
    for item in WorkItem.objects.filter(task=task):
        tasks.run_unit.apply_async(args=[item.pk])
    tasks.advance_task.apply_async(args=[str(task.pk)])
    time.sleep(3)

    assert calls.count("done") == done_before
    assert status_of(task) == Status.FINAL_REVIEW
    assert_paid_once(task, calls)


def test_fault_8_a_unit_whose_worker_is_killed_every_time_stops_at_the_cap(
    pipeline_env, worker, calls, local_channel, beat, settings
):
    pipeline_env["FAKE_KILL_PARENT_GENERATE_VIDEO"] = "1"
    pipeline_env["FAKE_LATENCY_GENERATE_VIDEO"] = "5"
    worker.start(concurrency=2, pool="prefork")
    task = video_task_create(channel=local_channel, storyboard=storyboard(1))

    until_status(task, Status.VIDEO_ERROR, worker, beat, timeout=120)

    task.refresh_from_db()
    assert calls.count("start", "generate_video") == settings.PIPELINE_MAX_ATTEMPTS
    assert "the worker running it was lost 3 times" in task.error_log
    assert Alert.objects.filter(level="ERROR", title__contains="stopped in videos").exists()


def test_fault_9_soft_and_hard_time_limits_leave_no_script_running(
    pipeline_env, worker, calls, local_channel, beat, settings
):
    # The script ignores SIGTERM and starts a child: the soft limit's SIGTERM does nothing, the
    # hard limit kills the pool process mid-grace; nothing of the script's group may survive.
    pipeline_env.update(
        {
            "PIPELINE_STEP_HARD_LIMIT": "8",
            "PIPELINE_STEP_SOFT_LIMIT": "5",
            "FAKE_LATENCY_GENERATE_VIDEO": "60",
            "FAKE_IGNORE_TERM_GENERATE_VIDEO": "1",
            "FAKE_SPAWN_CHILD_GENERATE_VIDEO": "1",
        }
    )
    # Limits travel in each message from its sender: this process sends too (the reconciler).
    settings.CELERY_TASK_TIME_LIMIT, settings.CELERY_TASK_SOFT_TIME_LIMIT = 8, 5
    worker.start(concurrency=2, pool="prefork")
    task = video_task_create(channel=local_channel, storyboard=storyboard(1))
    wait_for(
        lambda: calls.count("start", "generate_video") >= 1,
        timeout=60,
        describe=lambda: describe(task, worker),
    )
    (first,) = [e for e in calls.entries() if e["event"] == "start"][-1:]

    def group_gone():
        beat()  # the unit's next run kills what is left of the stale group
        return not process_alive(first["pid"]) and not process_alive(first["child"])

    wait_for(
        group_gone,
        timeout=40,
        describe=lambda: f"script {first['pid']} or its child {first['child']} still running",
    )
    # The unit is tried again (and again stopped) until the attempt cap: no loop, no orphan.
    until_status(task, Status.VIDEO_ERROR, worker, beat, timeout=150)
    for entry in calls.entries():
        if entry["event"] == "start":
            assert not process_alive(entry["pid"])
            assert not entry["child"] or not process_alive(entry["child"])


def test_fault_13_sigterm_during_a_deploy_finishes_the_running_step(
    pipeline_env, worker, calls, local_channel, beat
):
    pipeline_env["FAKE_LATENCY_GENERATE_VIDEO"] = "3"
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(2))
    wait_for(lambda: calls.count("start", "generate_video") >= 1, timeout=60)

    worker.process.send_signal(signal.SIGTERM)  # warm shutdown: running work finishes
    worker.process.wait(timeout=60)
    running_finished = calls.count("done", "generate_video") >= 1

    worker.start()
    until_status(task, Status.FINAL_REVIEW, worker, beat)
    assert running_finished
    assert_paid_once(task, calls)


def test_fault_14_a_wrong_encryption_key_is_refused_at_start_up(pipeline_env, tmp_path):
    from channels_app.crypto import encryption_key_check

    encryption_key_check()  # the canary, written with the right key
    env = {**pipeline_env, "FIELD_ENCRYPTION_KEY": "not-the-key-the-data-was-written-with"}

    worker = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "videogen", "worker", "--pool", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    web = subprocess.run(
        [sys.executable, "-c", "import videogen.wsgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    for process in (worker, web):
        assert process.returncode != 0
        output = process.stdout + process.stderr
        assert "cannot decrypt data written with the previous key" in output
    assert "ready." not in worker.stdout + worker.stderr


def test_fault_15_the_audit_table_refuses_changes_from_the_application(transactional_db):
    from django.db import DatabaseError, connection, transaction

    from core.audit import audit_log_record

    audit_log_record(actor="alice", action="review_approved", notes="ok")
    for statement in (
        "UPDATE reviews_auditlog SET notes = 'changed'",
        "DELETE FROM reviews_auditlog",
        "TRUNCATE reviews_auditlog",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)
    assert json.dumps(True)
