"""Exactly once on a busy day, on real worker processes with the Procfile's pool (threads) and the
default 15-minute lease: duplicate messages, a worker killed with SIGKILL mid-clip, a worker whose
clock is 20 minutes off. (The database stopped for 30 s mid-step is fault 7 in
test_broker_and_database_restarts.py.)"""

import os
import signal
import time
from pathlib import Path

import pytest

from core.models import Alert
from costs.models import VideoCost
from pipeline import tasks
from pipeline.models import Heartbeat, WorkItem, WorkState
from pipeline.reconcile import pipeline_reconcile
from pipeline.services import video_task_create
from pipeline.status import Status
from pipeline.workers import lease_instance, units_take_back_from_lost_workers
from tests.pipeline.conftest import Worker, process_alive, wait_for
from tests.pipeline.test_pipeline_worker import describe, status_of, storyboard

pytestmark = [
    pytest.mark.integration,
    pytest.mark.fault,
    pytest.mark.django_db(transaction=True),
]

DEFAULT_LEASE = "900"
SKEWED_CLOCK = Path(__file__).parent / "skewed_clock"


@pytest.fixture
def procfile_env(pipeline_env, settings):
    """The production defaults where the behaviour depends on them: the lease, the pool."""
    pipeline_env["PIPELINE_LEASE_SECONDS"] = DEFAULT_LEASE
    settings.PIPELINE_LEASE_SECONDS = int(DEFAULT_LEASE)
    return pipeline_env


def starts_per_output(calls, script=None):
    counts = {}
    for entry in calls.entries():
        if entry["event"] == "start" and (script is None or entry["script"] == script):
            counts[entry["output"]] = counts.get(entry["output"], 0) + 1
    return counts


def assert_each_unit_ran_and_was_paid_once(task, calls):
    assert set(starts_per_output(calls).values()) == {1}, starts_per_output(calls)
    assert set(calls.completions_per_output().values()) == {1}
    costs = VideoCost.objects.filter(task=task)
    assert costs.count() == calls.count("done")
    assert costs.values("work_item").distinct().count() == costs.count()  # one row per unit


def test_twenty_duplicate_messages_for_every_unit_run_each_unit_once(
    procfile_env, worker, calls, local_channel
):
    procfile_env["FAKE_LATENCY"] = "0.5"
    worker.start(pool="threads", concurrency=16)
    task = video_task_create(channel=local_channel, storyboard=storyboard(3))
    flooded = set()

    def flood_new_units():
        for item_id in WorkItem.objects.filter(task=task).values_list("pk", flat=True):
            if item_id not in flooded:
                flooded.add(item_id)
                for _ in range(20):
                    tasks.run_unit.apply_async(args=[item_id])
        return status_of(task) == Status.FINAL_REVIEW

    wait_for(flood_new_units, timeout=150, interval=0.1, describe=lambda: describe(task, worker))

    assert len(flooded) == WorkItem.objects.filter(task=task).count() >= 10
    assert_each_unit_ran_and_was_paid_once(task, calls)
    not_claimed = worker.log().count('"event": "unit_not_claimed"')
    print(f"\nEXACTLY ONCE duplicates={20 * len(flooded)} refused_claims={not_claimed}")
    assert not_claimed >= len(flooded)  # the duplicates arrived and were turned away


def _running_clips_by_instance(task):
    by_instance = {}
    for item in WorkItem.objects.filter(task=task, step="videos", state=WorkState.RUNNING):
        by_instance.setdefault(lease_instance(item.lease_owner), []).append(item.pk)
    return by_instance


@pytest.fixture
def two_workers(procfile_env, tmp_path):
    """Two worker processes of the same environment, not started; killed at the end."""
    workers = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        workers.append(Worker(procfile_env, tmp_path / name))
    yield workers
    for worker in workers:
        worker.kill()


def test_a_worker_killed_mid_clip_has_its_units_running_elsewhere_within_90_seconds(
    procfile_env, calls, local_channel, two_workers
):
    procfile_env["FAKE_LATENCY_GENERATE_VIDEO"] = "12"
    first, second = two_workers
    first.start(pool="threads", concurrency=16)
    task = video_task_create(channel=local_channel, storyboard=storyboard(3))
    wait_for(
        lambda: (
            len(_running_clips_by_instance(task)) == 1
            and calls.count("start", "generate_video") >= 2
        ),
        timeout=60,
        describe=lambda: describe(task, first),
    )
    second.start(pool="threads", concurrency=16)
    [(dead_instance, clips)] = _running_clips_by_instance(task).items()
    dead_name = Heartbeat.objects.get(instance=dead_instance).hostname

    first.kill()
    killed_at = time.monotonic()

    def running_again_elsewhere():
        units_take_back_from_lost_workers()  # what beat's watchdog does every 30 s
        items = WorkItem.objects.filter(pk__in=clips)
        return all(
            item.state == WorkState.DONE
            or (item.state == WorkState.RUNNING and item.lease_owner
                and lease_instance(item.lease_owner) != dead_instance)
            for item in items
        )  # fmt: skip

    wait_for(running_again_elsewhere, timeout=90, interval=1,
             describe=lambda: describe(task, second))  # fmt: skip
    recovered = time.monotonic() - killed_at
    print(f"\nEXACTLY ONCE worker lost: {len(clips)} clips running again in {recovered:.1f} s")

    wait_for(lambda: status_of(task) == Status.FINAL_REVIEW, timeout=120,
             describe=lambda: describe(task, second))  # fmt: skip
    alert = Alert.objects.get(key=f"worker-lost:{dead_instance}")
    assert dead_name in alert.title and f"{len(clips)} units taken back" in alert.title
    # The killed worker's clips were cut off before they completed: each output completed and
    # was paid once, by the worker that took it over.
    assert set(calls.completions_per_output().values()) == {1}
    assert VideoCost.objects.filter(task=task).count() == calls.count("done")


def test_a_worker_whose_clock_is_20_minutes_behind_runs_nothing_twice(
    procfile_env, calls, local_channel, tmp_path, settings
):
    settings.PIPELINE_RECONCILE_GRACE_SECONDS = 2
    procfile_env["FAKE_LATENCY_GENERATE_VIDEO"] = "3"
    procfile_env["FAKE_LATENCY_GENERATE_AUDIO"] = "2"
    skewed_env = {
        **procfile_env,
        "PYTHONPATH": str(SKEWED_CLOCK),
        "VIDEOGEN_TEST_CLOCK_OFFSET_SECONDS": "-1200",
    }
    (tmp_path / "right").mkdir()
    (tmp_path / "skewed").mkdir()
    right = Worker(procfile_env, tmp_path / "right")
    skewed = Worker(skewed_env, tmp_path / "skewed")
    try:
        skewed.start(pool="threads", concurrency=16)
        right.start(pool="threads", concurrency=16)
        task = video_task_create(channel=local_channel, storyboard=storyboard(4))

        def finished():
            pipeline_reconcile()  # beat's reconciler: re-sends units whose lease looks expired
            return status_of(task) == Status.FINAL_REVIEW

        wait_for(finished, timeout=150, interval=0.5, describe=lambda: describe(task, right))

        assert_each_unit_ran_and_was_paid_once(task, calls)
        assert '"event": "unit_done"' in skewed.log()  # the skewed worker did take part
    finally:
        skewed.stop()
        right.stop()


def test_a_lost_worker_that_comes_back_stops_its_script_and_records_nothing(
    procfile_env, calls, local_channel, two_workers, settings
):
    # Short windows so the test is quick; the mechanism is the one measured above.
    quick = {"WORKER_HEARTBEAT_SECONDS": "1", "WORKER_LOST_SECONDS": "6"}
    procfile_env.update({**quick, "FAKE_LATENCY_GENERATE_VIDEO": "25"})
    settings.WORKER_HEARTBEAT_SECONDS, settings.WORKER_LOST_SECONDS = 1, 6
    first, second = two_workers
    first.start(pool="threads", concurrency=16)
    task = video_task_create(channel=local_channel, storyboard=storyboard(1))
    wait_for(lambda: calls.count("start", "generate_video") == 1, timeout=60,
             describe=lambda: describe(task, first))  # fmt: skip
    [frozen_script] = [e for e in calls.entries() if e["event"] == "start"
                       and e["script"] == "generate_video"]  # fmt: skip
    second.start(pool="threads", concurrency=16)

    os.kill(first.process.pid, signal.SIGSTOP)  # frozen, not dead: its script runs on
    item = WorkItem.objects.get(task=task, step="videos")

    def running_on_the_second():
        units_take_back_from_lost_workers()
        return calls.count("start", "generate_video") == 2

    wait_for(running_on_the_second, timeout=60, interval=0.5,
             describe=lambda: describe(task, second))  # fmt: skip
    os.kill(first.process.pid, signal.SIGCONT)

    # Its next lease renewal is refused: it kills its script's group at once.
    wait_for(lambda: not process_alive(frozen_script["pid"]), timeout=20,
             describe=lambda: first.log()[-3000:])  # fmt: skip
    wait_for(lambda: status_of(task) == Status.FINAL_REVIEW, timeout=90,
             describe=lambda: describe(task, second))  # fmt: skip
    assert set(calls.completions_per_output().values()) == {1}
    item.refresh_from_db()
    assert item.calls == 1 and item.state == WorkState.DONE
    assert VideoCost.objects.filter(work_item=item).count() == 1
    assert not [
        line for line in first.log().splitlines()
        if '"event": "unit_done"' in line and '"step": "videos"' in line
    ]  # fmt: skip
