"""A task whose card stays in a production column is reported once, by the one stuck criterion
(pipeline.selectors.tasks_stuck) the reconciler and the dashboard share."""

import datetime as dt

import pytest
from django.utils import timezone

from core.models import Alert
from pipeline.models import VideoTask, WorkItem
from pipeline.reconcile import pipeline_reconcile
from pipeline.selectors import tasks_stuck
from pipeline.status import Status
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db


def _aged(task, minutes):
    VideoTask.objects.filter(pk=task.pk).update(
        status_changed_at=timezone.now() - dt.timedelta(minutes=minutes)
    )


def test_only_tasks_without_progress_for_the_stuck_window_are_stuck(settings):
    channel = ChannelFactory(id="stuckch")
    window = settings.PIPELINE_STUCK_MINUTES
    stuck = VideoTaskFactory(channel=channel, title="Stuck", status=Status.GENERATING_VIDEO)
    _aged(stuck, window + 5)
    recent = VideoTaskFactory(channel=channel, title="Recent", status=Status.GENERATING_VIDEO)
    _aged(recent, window - 5)
    waiting = VideoTaskFactory(
        channel=channel, title="Waits", status=Status.GENERATING_VIDEO, waiting_reason="budget"
    )
    _aged(waiting, window + 5)
    busy = VideoTaskFactory(channel=channel, title="Busy", status=Status.GENERATING_VIDEO)
    _aged(busy, window + 5)
    WorkItem.objects.create(task=busy, step="videos", unit="s01", script="generate_video")
    at_gate = VideoTaskFactory(channel=channel, title="Gate", status=Status.FINAL_REVIEW)
    _aged(at_gate, window + 5)

    assert [task.title for task in tasks_stuck()] == ["Stuck"]


def test_the_reconciler_alerts_once_per_stuck_task_and_status(settings):
    task = VideoTaskFactory(
        channel=ChannelFactory(id="stuckal"), title="Stuck", status=Status.GENERATING_VIDEO
    )
    _aged(task, settings.PIPELINE_STUCK_MINUTES + 5)

    assert pipeline_reconcile()["stuck"] == 1
    pipeline_reconcile()

    alerts = Alert.objects.filter(key=f"stuck:{task.pk}:{task.status}")
    assert [a.suppressed for a in alerts.order_by("id")] == [False, True]
    assert "is stuck in" in alerts.first().title
