"""The operator's commands: create_task, task_status, review, retry_task, cancel_task."""

import getpass
import io
import socket

import pytest
from django.core.management import CommandError, call_command

from core.models import AuditLog
from pipeline.models import VideoTask
from pipeline.status import Status
from reviews.models import Review
from tests.factories import ChannelFactory, UserFactory, VideoTaskFactory, reviewer_user

pytestmark = pytest.mark.django_db

STORYBOARD = """\
title: A test video
channel: cmdchannel
assets:
  - {id: forest, kind: environment, prompt: a forest}
  - {id: fox, kind: character, prompt: a fox}
scenes:
  - id: s01
    composite: {environment: forest, character: fox}
    motion: slow pan
    narration: A fox walks through the forest.
    duration: 5
"""


def call(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_creates_and_queues_a_task_from_a_storyboard_file(tmp_path):
    ChannelFactory(id="cmdchannel")
    path = tmp_path / "video.yaml"
    path.write_text(STORYBOARD)

    output = call("create_task", str(path))

    task = VideoTask.objects.get()
    assert task.status == Status.QUEUED
    assert task.title == "A test video"
    assert f"created task {task.pk}" in output


def test_it_names_every_problem_of_an_invalid_storyboard(tmp_path):
    ChannelFactory(id="cmdchannel")
    path = tmp_path / "video.yaml"
    path.write_text(
        STORYBOARD.replace("environment: forest, character", "environment: lake, character")
    )

    with pytest.raises(CommandError) as error:
        call("create_task", str(path))

    assert "scenes[0].composite.environment: unknown asset 'lake'" in str(error.value)
    assert not VideoTask.objects.exists()


def test_it_refuses_a_storyboard_for_an_unknown_channel(tmp_path):
    path = tmp_path / "video.yaml"
    path.write_text(STORYBOARD)

    with pytest.raises(CommandError, match="channel: unknown channel 'cmdchannel'"):
        call("create_task", str(path))


def test_it_shows_the_timeline_progress_and_cost_of_a_task(tmp_path):
    ChannelFactory(id="cmdchannel")
    path = tmp_path / "video.yaml"
    path.write_text(STORYBOARD)
    call("create_task", str(path))
    task = VideoTask.objects.get()

    output = call("task_status", str(task.pk))

    assert "status    Queued" in output
    assert "draft -> queued" in output
    assert "cost      $0.0000" in output


def test_it_says_clearly_when_a_task_id_is_wrong():
    with pytest.raises(CommandError, match="is not a task id"):
        call("task_status", "nope")
    with pytest.raises(CommandError, match="no task with id"):
        call("task_status", "00000000-0000-0000-0000-000000000000")


def test_it_approves_from_the_command_line_as_a_reviewer_with_the_way_in_and_the_host(workspace):
    task = VideoTaskFactory(status=Status.FINAL_REVIEW)
    carol = reviewer_user("carol")

    output = call("review", "approve", str(task.pk), "--as", "carol", "--notes", "fine")

    assert "approved: task" in output
    entry = AuditLog.objects.get()
    assert entry.actor == "carol"
    assert entry.metadata["via"] == "command line"
    assert entry.metadata["host"] == socket.gethostname()
    assert entry.metadata["os_user"] == getpass.getuser()
    review = Review.objects.get(task=task)
    assert (review.reviewer, review.via) == (carol, "command line")


def test_a_command_line_decision_without_a_known_reviewer_is_refused(workspace):
    task = VideoTaskFactory(status=Status.FINAL_REVIEW)
    UserFactory(username="mallory")  # staff, but not a reviewer
    UserFactory(username="gone", is_active=False).groups.add(reviewer_user("x").groups.get())

    with pytest.raises(CommandError, match="the following arguments are required: --as"):
        call("review", "approve", str(task.pk), "--notes", "fine")
    with pytest.raises(CommandError, match="--as nobody: no such user"):
        call("review", "approve", str(task.pk), "--as", "nobody")
    with pytest.raises(CommandError, match="'mallory' may not review"):
        call("review", "approve", str(task.pk), "--as", "mallory")
    with pytest.raises(CommandError, match="'gone' is not active"):
        call("review", "approve", str(task.pk), "--as", "gone")

    assert VideoTask.objects.get(pk=task.pk).status == Status.FINAL_REVIEW
    assert not AuditLog.objects.exists() and not Review.objects.exists()


def test_it_refuses_to_retry_a_task_that_has_not_failed(workspace):
    task = VideoTaskFactory(status=Status.GENERATING_VIDEO)

    with pytest.raises(CommandError, match="not in an error status"):
        call("retry_task", str(task.pk))


def test_it_cancels_a_task_once_and_keeps_its_records(workspace):
    task = VideoTaskFactory(status=Status.GENERATING_VIDEO)

    call("cancel_task", str(task.pk), "--reason", "wrong topic")

    task.refresh_from_db()
    assert task.cancelled_at is not None
    assert AuditLog.objects.get().action == "task_cancel"
    with pytest.raises(CommandError, match="already cancelled"):
        call("cancel_task", str(task.pk))
