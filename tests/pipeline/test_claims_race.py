"""Every claim in the pipeline, raced: four threads, each on its own PostgreSQL connection, take
the same thing at the same instant, forty rounds each; exactly one wins every round."""

import datetime as dt

import pytest
from django.utils import timezone

from channels_app.models import NotionPush
from pipeline import limits
from pipeline.clock import db_now
from pipeline.integrations import notion_push, youtube_row
from pipeline.models import Heartbeat, ProviderSlot, Upload, VideoTask, WorkItem, WorkState
from pipeline.status import Status
from pipeline.unit_spec import UnitBusy
from pipeline.units import unit_claim
from pipeline.workers import units_take_back_from_lost_workers
from tests.concurrency import errors_in, race
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4
ROUNDS = 40


@pytest.fixture
def task():
    return VideoTaskFactory(channel=ChannelFactory(id="race"), status=Status.GENERATING_VIDEO)


def _unit(task, unit="s01"):
    return WorkItem.objects.create(
        task=task, step="videos", unit=unit, script="generate_video.py", provider="kie",
        output_path=f"/tmp/{unit}.mp4",
    )  # fmt: skip


def _winners(outcome):
    return [result for result in outcome if result is not None and result is not False]


def test_it_lets_one_execution_claim_a_pending_unit_and_numbers_every_attempt_once(task):
    item = _unit(task)

    def make_pending(_):
        WorkItem.objects.filter(pk=item.pk).update(
            state=WorkState.PENDING, lease_owner="", lease_expires_at=None
        )

    results = race(
        lambda index: unit_claim(item.pk, f"worker-{index}"),
        threads=THREADS, rounds=ROUNDS, before_round=make_pending,
    )  # fmt: skip

    assert errors_in(results) == []
    winners = [_winners(outcome) for outcome in results]
    assert [len(won) for won in winners] == [1] * ROUNDS
    attempts = [won[0].attempts for won in winners]
    assert attempts == list(range(1, ROUNDS + 1))  # distinct, in order, none shared
    assert WorkItem.objects.get(pk=item.pk).attempts == ROUNDS


def test_it_lets_one_execution_take_over_a_unit_whose_lease_expired(task):
    item = _unit(task)

    def expire(_):
        WorkItem.objects.filter(pk=item.pk).update(
            state=WorkState.RUNNING,
            lease_owner="dead",
            lease_expires_at=timezone.now() - dt.timedelta(seconds=5),
        )

    results = race(
        lambda index: unit_claim(item.pk, f"worker-{index}"),
        threads=THREADS, rounds=ROUNDS, before_round=expire,
    )  # fmt: skip

    assert errors_in(results) == []
    assert [len(_winners(outcome)) for outcome in results] == [1] * ROUNDS


def test_it_never_claims_a_unit_of_a_cancelled_task(task):
    item = _unit(task)
    VideoTask.objects.filter(pk=task.pk).update(cancelled_at=timezone.now())

    def make_pending(_):
        WorkItem.objects.filter(pk=item.pk).update(
            state=WorkState.PENDING, lease_owner="", lease_expires_at=None
        )

    results = race(
        lambda index: unit_claim(item.pk, f"worker-{index}"),
        threads=THREADS, rounds=10, before_round=make_pending,
    )  # fmt: skip

    assert errors_in(results) == []
    assert [len(_winners(outcome)) for outcome in results] == [0] * 10


def test_it_lets_one_execution_claim_an_upload(task):
    upload = Upload.objects.create(task=task, quota_project="default")

    def free(_):
        Upload.objects.filter(pk=upload.pk).update(lease_owner="", lease_expires_at=None)

    def claim(index):
        try:
            return youtube_row.upload_claim(Upload.objects.get(pk=upload.pk), f"worker-{index}")
        except UnitBusy:
            return None

    results = race(claim, threads=THREADS, rounds=ROUNDS, before_round=free)

    assert errors_in(results) == []
    assert [len(_winners(outcome)) for outcome in results] == [1] * ROUNDS
    assert Upload.objects.get(pk=upload.pk).attempts == ROUNDS


def test_it_lets_one_pusher_claim_a_dirty_notion_card(task):
    NotionPush.objects.create(task=task, requested_at=timezone.now())

    def dirty(_):
        NotionPush.objects.filter(task=task).update(
            lease_owner="", lease_expires_at=None, pushed_version=None
        )

    results = race(
        lambda index: notion_push._claim(task.pk, f"pusher-{index}"),
        threads=THREADS, rounds=ROUNDS, before_round=dirty,
    )  # fmt: skip

    assert errors_in(results) == []
    assert [len(_winners(outcome)) for outcome in results] == [1] * ROUNDS


def test_it_never_hands_out_more_provider_slots_than_the_cap(settings):
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "kie": 2}

    def free(_):
        ProviderSlot.objects.filter(provider="kie").update(holder="", expires_at=None)

    results = race(
        lambda index: limits.slot_try_acquire("kie", f"holder-{index}", lease_seconds=60),
        threads=THREADS, rounds=ROUNDS, before_round=free,
    )  # fmt: skip

    assert errors_in(results) == []
    for outcome in results:
        won = _winners(outcome)
        assert len(won) == 2 and len(set(won)) == 2  # two slots, each to one holder


def test_it_takes_back_a_lost_workers_unit_once_however_many_sweep_at_once(task, settings):
    settings.WORKER_LOST_SECONDS = 45
    item = _unit(task)
    now = db_now()
    long_ago = now - dt.timedelta(minutes=5)
    Heartbeat.objects.create(
        kind="worker", hostname="watcher@host", instance="watcher:1:aaaa",
        seen_at=now, started_at=long_ago, continuous_since=long_ago,
    )  # fmt: skip
    Heartbeat.objects.create(
        kind="worker", hostname="dead@host", instance="dead:2:bbbb",
        seen_at=long_ago, started_at=long_ago, continuous_since=long_ago,
    )  # fmt: skip

    def held_by_the_dead(_):
        Heartbeat.objects.filter(hostname="watcher@host").update(seen_at=db_now())
        WorkItem.objects.filter(pk=item.pk).update(
            state=WorkState.RUNNING,
            lease_owner="dead:2:bbbb/140:1234abcd",
            lease_expires_at=db_now() + dt.timedelta(minutes=10),
            started_at=long_ago,
        )

    results = race(
        lambda _: units_take_back_from_lost_workers(),
        threads=THREADS, rounds=10, before_round=held_by_the_dead,
    )  # fmt: skip

    assert errors_in(results) == []
    assert [sum(outcome) for outcome in results] == [1] * 10


def test_it_starts_each_queued_task_once_and_within_the_channels_limit_when_schedulers_race():
    from pipeline.services import tasks_schedule

    channel = ChannelFactory(id="busy", max_concurrent=3)
    queued = [VideoTaskFactory(channel=channel, status=Status.QUEUED) for _ in range(8)]

    def requeue(_):
        VideoTask.objects.filter(pk__in=[task.pk for task in queued]).update(
            status=Status.QUEUED, started_at=None
        )

    results = race(lambda _: tasks_schedule(), threads=THREADS, rounds=10, before_round=requeue)

    assert errors_in(results) == []
    for outcome in results:
        started = [task_id for claimed in outcome for task_id in claimed]
        assert len(started) == len(set(started)) == 3


def test_a_lease_names_its_worker_only_inside_a_worker(monkeypatch):
    from pipeline import workers

    assert workers.lease_instance(workers.worker_identity()) == ""  # a command, a test: never lost
    monkeypatch.setattr(workers, "_instance", "host:42:abcd1234")
    assert workers.lease_instance(workers.worker_identity()) == "host:42:abcd1234"
