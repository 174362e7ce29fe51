"""The timeline line of a finished step says what this pass made and what it cost: after a redo
of one clip, that clip and its cost, and how many were kept."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from costs.models import VideoCost
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.services import step_done_summary
from tests.factories import VideoTaskFactory

pytestmark = pytest.mark.django_db


def _entered_the_step(moment):
    task = VideoTaskFactory()
    VideoTask.objects.filter(pk=task.pk).update(status_changed_at=moment)
    task.refresh_from_db()
    return task


def _unit(task, name, finished):
    return WorkItem.objects.create(
        task=task, step="videos", unit=name, script="generate_video", provider="local",
        output_path="/dev/null", state=WorkState.DONE, finished_at=finished,
    )  # fmt: skip


def test_a_redo_of_one_clip_names_it_its_cost_and_what_was_kept():
    now = timezone.now()
    task = _entered_the_step(now - dt.timedelta(minutes=1))
    for name in ("s01", "s03", "s04"):
        _unit(task, name, now - dt.timedelta(hours=1))
    redone = _unit(task, "s02", now)
    VideoCost.objects.create(
        task=task, channel=task.channel, work_item=redone, attempt=2, component="video",
        provider="kie", units=5, unit_name="clip_seconds", usd=Decimal("1.40"),
    )  # fmt: skip

    assert step_done_summary(task, "videos") == "videos: s02 made again ($1.40), 3 kept"


def test_a_first_pass_counts_what_it_made():
    now = timezone.now()
    task = _entered_the_step(now - dt.timedelta(minutes=1))
    for name in ("s01", "s02"):
        _unit(task, name, now)

    assert step_done_summary(task, "videos") == "videos: 2 made ($0.00)"
