"""What stops a runaway script on the Procfile's worker (`--pool threads`): the runner's
per-script timeout (SCRIPT_TIMEOUT_<NAME>), not Celery's task time limits, which a threads pool
does not enforce (a pool thread cannot be killed)."""

import json
import time

import pytest

from pipeline.models import WorkItem
from pipeline.services import video_task_create
from tests.pipeline.conftest import process_alive, wait_for
from tests.pipeline.test_pipeline_worker import describe, storyboard

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_script_outliving_celery_s_time_limits_is_stopped_by_the_runner_s_timeout(
    pipeline_env, worker, calls, local_channel, settings
):
    pipeline_env.update(
        PIPELINE_STEP_SOFT_LIMIT="2", PIPELINE_STEP_HARD_LIMIT="4",
        SCRIPT_TIMEOUT_GENERATE_AUDIO="9", FAKE_LATENCY_GENERATE_AUDIO="60",
    )  # fmt: skip
    settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT = 2, 4
    worker.start(pool="threads")  # as the Procfile runs it
    task = video_task_create(channel=local_channel, storyboard=storyboard(1))

    wait_for(lambda: calls.count("start", "generate_audio") >= 1, timeout=60,
             describe=lambda: describe(task, worker))  # fmt: skip
    first = next(e for e in calls.entries() if e["script"] == "generate_audio")
    started = first["t"]

    # Past Celery's hard limit (4 s): the script still runs, and so does the worker.
    time.sleep(max(0.0, started + 6 - time.time()))
    assert process_alive(first["pid"]), "Celery's time limit stopped it: the README is wrong"
    assert worker.process.poll() is None

    # The runner's per-script timeout (9 s) stops it, as a temporary failure to retry.
    wait_for(lambda: not process_alive(first["pid"]), timeout=15,
             describe=lambda: describe(task, worker))  # fmt: skip
    stopped_after = time.time() - started
    assert 8.5 < stopped_after < 14
    wait_for(
        lambda: "no answer within 9 s" in (WorkItem.objects.get(task=task, step="audio").error),
        timeout=15,
        describe=lambda: describe(task, worker),
    )
    print(json.dumps({"script_stopped_after_seconds": round(stopped_after, 1)}))
