"""Fair scheduling across channels, per-channel limits and priority (the scheduler service)."""

import pytest

from pipeline.models import VideoTask
from pipeline.services import tasks_schedule, video_task_create
from pipeline.status import Status
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory

pytestmark = pytest.mark.django_db


def queue(channel, count, **kwargs):
    return [
        video_task_create(channel=channel, storyboard=dict(SAMPLE_STORYBOARD), **kwargs)
        for _ in range(count)
    ]


def finish(task_id):
    """Stand-in for a video leaving production (it reached a gate)."""
    VideoTask.objects.filter(pk=task_id).update(status=Status.FINAL_REVIEW)


def test_it_starts_the_other_channels_first_video_within_two_starts(settings):
    settings.PIPELINE_MAX_ACTIVE_VIDEOS = 1
    channel_a = ChannelFactory(id="channel-a", max_concurrent=5)
    channel_b = ChannelFactory(id="channel-b", max_concurrent=5)
    queue(channel_a, 10)
    (b_task,) = queue(channel_b, 1)

    starts = []
    for _ in range(3):
        (started,) = tasks_schedule()
        starts.append(started)
        finish(started)

    assert b_task.pk in starts[:2]


def test_it_respects_a_channels_max_concurrent():
    channel = ChannelFactory(id="small", max_concurrent=2)
    queue(channel, 5)

    assert len(tasks_schedule()) == 2
    assert tasks_schedule() == []
    assert VideoTask.objects.filter(status=Status.CLAIMED).count() == 2


def test_it_respects_the_deployment_wide_limit(settings):
    settings.PIPELINE_MAX_ACTIVE_VIDEOS = 3
    for name in ("one", "two"):
        queue(ChannelFactory(id=name, max_concurrent=5), 4)

    assert len(tasks_schedule()) == 3
    claimed = VideoTask.objects.filter(status=Status.CLAIMED)
    assert set(claimed.values_list("channel_id", flat=True)) == {"one", "two"}


def test_it_starts_a_high_priority_video_before_older_normal_ones(settings):
    settings.PIPELINE_MAX_ACTIVE_VIDEOS = 1
    channel = ChannelFactory(id="prio", max_concurrent=1)
    queue(channel, 3)
    (urgent,) = queue(channel, 1, priority="high")

    assert tasks_schedule() == [urgent.pk]


def test_it_never_claims_a_task_twice():
    channel = ChannelFactory(id="once", max_concurrent=3)
    queue(channel, 1)

    first = tasks_schedule()
    second = tasks_schedule()

    assert len(first) == 1 and second == []
    task = VideoTask.objects.get(pk=first[0])
    assert [e.to_status for e in task.events.all()] == [Status.QUEUED, Status.CLAIMED]


def test_it_skips_cancelled_tasks_and_inactive_channels():
    active = ChannelFactory(id="active", max_concurrent=3)
    inactive = ChannelFactory(id="inactive", max_concurrent=3)
    (cancelled,) = queue(active, 1)
    queue(inactive, 1)
    inactive.is_active = False
    inactive.save()
    VideoTask.objects.filter(pk=cancelled.pk).update(cancelled_at="2026-01-01T00:00:00Z")

    assert tasks_schedule() == []
