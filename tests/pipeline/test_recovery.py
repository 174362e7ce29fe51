"""Crashes, retries and failures on the real stack: a worker process SIGKILLed mid-step, scripts
failing with temporary (75) and permanent (65) codes."""

import time

import pytest

from costs.models import VideoCost
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.reconcile import pipeline_reconcile
from pipeline.services import video_task_create
from pipeline.status import Status
from tests.pipeline.conftest import wait_for
from tests.pipeline.test_pipeline_worker import describe, status_of, storyboard

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_finishes_once_after_the_worker_is_killed_during_the_videos_step(
    pipeline_env, worker, calls, local_channel, settings
):
    pipeline_env["FAKE_LATENCY_GENERATE_VIDEO"] = "3"
    settings.PIPELINE_RECONCILE_GRACE_SECONDS = 3
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(4))
    wait_for(
        lambda: calls.count("start", "generate_video") >= 2,
        timeout=60,
        describe=lambda: describe(task, worker),
    )

    worker.kill()
    killed_at = time.monotonic()
    assert status_of(task) == Status.GENERATING_VIDEO
    worker.start()

    def finished():
        pipeline_reconcile()  # what beat does every minute
        return status_of(task) == Status.FINAL_REVIEW

    wait_for(finished, timeout=90, interval=1, describe=lambda: describe(task, worker))
    recovery = time.monotonic() - killed_at
    # No scene's script ran twice to completion, and every completed call is costed once.
    assert set(calls.completions_per_output().values()) == {1}
    assert VideoCost.objects.filter(task=task).count() == calls.count("done")
    assert recovery < 90


def test_it_retries_a_temporary_failure_with_backoff_and_completes(
    pipeline_env, worker, calls, local_channel
):
    pipeline_env["FAKE_PLAN_GENERATE_AUDIO"] = "75,75,0"
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(1))

    wait_for(
        lambda: status_of(task) == Status.FINAL_REVIEW,
        timeout=60,
        describe=lambda: describe(task, worker),
    )
    item = WorkItem.objects.get(task=task, step="audio")
    assert item.attempts == 3
    assert item.state == WorkState.DONE
    runs = [
        e["t"] for e in calls.entries() if e["script"] == "generate_audio" and e["event"] == "start"
    ]
    assert len(runs) == 3
    # backoff base 0.5 s, doubling, jitter 0.5-1.5x: gaps of at least 0.25 s then 0.5 s
    assert runs[1] - runs[0] >= 0.25
    assert runs[2] - runs[1] >= 0.5
    # only the successful call is paid
    assert VideoCost.objects.filter(task=task, component="narration").count() == 1


def test_it_stops_in_the_phase_error_with_the_message_when_a_script_exits_65(
    pipeline_env, worker, calls, local_channel
):
    pipeline_env["FAKE_PLAN_GENERATE_VIDEO"] = "65"
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(2))

    wait_for(
        lambda: status_of(task) == Status.VIDEO_ERROR,
        timeout=60,
        describe=lambda: describe(task, worker),
    )
    task = VideoTask.objects.get(pk=task.pk)
    assert task.failed_step == "videos"
    assert "step videos, scene s0" in task.error_log
    assert "generate_video exited 65 (permanent)" in task.error_log
    assert "fake generate_video failed with 65" in task.error_log
    # a permanent failure is not retried
    assert calls.count("exit65", "generate_video") <= 2  # one per scene at most
    from core.models import Alert

    assert Alert.objects.filter(level="ERROR", title__contains="stopped in videos").exists()


def test_it_keeps_the_provider_cap_across_videos(
    pipeline_env, worker, calls, local_channel, settings
):
    pipeline_env["PROVIDER_CAP_KIE"] = "2"
    pipeline_env["FAKE_LATENCY_GENERATE_VIDEO"] = "0.3"
    local_channel.providers = {**local_channel.providers, "video": "kie"}
    local_channel.save()
    worker.start(concurrency=12)
    tasks = [video_task_create(channel=local_channel, storyboard=storyboard(6)) for _ in range(3)]

    wait_for(
        lambda: all(status_of(t) == Status.FINAL_REVIEW for t in tasks),
        timeout=120,
        describe=lambda: describe(tasks[0], worker),
    )
    assert calls.count("done", "generate_video") == 18
    assert calls.max_concurrent({"generate_video"}) == 2
