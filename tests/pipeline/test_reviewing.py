"""Decisions at review gates: approve moves on once, reject sends the named scenes back."""

import pytest

from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.reviewing import ReviewError, review_approve, review_reject
from pipeline.services import task_advance, task_retry
from pipeline.status import Status
from pipeline.steps import STEP_BY_NAME
from reviews.models import AuditLog, Review
from tests.factories import ChannelFactory, VideoTaskFactory
from tests.pipeline.test_pipeline_worker import storyboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_task(workspace):
    """A task at final review whose every unit is done and whose outputs exist."""
    task = VideoTaskFactory(
        channel=ChannelFactory(id="gated"), storyboard=storyboard(2), status=Status.FINAL_REVIEW
    )
    for step in ("assets", "composites", "videos", "audio", "sfx", "assembly"):
        for spec in STEP_BY_NAME[step].units(task):
            spec.output.parent.mkdir(parents=True, exist_ok=True)
            spec.output.write_bytes(b"made")
            WorkItem.objects.create(
                task=task, step=step, unit=spec.unit, script=spec.script,
                provider=spec.provider, output_path=str(spec.output), state=WorkState.DONE,
            )  # fmt: skip
    return task


def test_it_approves_once_and_records_the_review_and_the_audit_row(finished_task):
    review_approve(task_id=finished_task.pk, reviewer_name="alice", notes="ship it")

    finished_task.refresh_from_db()
    assert finished_task.status == Status.APPROVED
    review = Review.objects.get(task=finished_task)
    assert (review.gate, review.decision, review.reviewer_name) == ("final", "approved", "alice")
    audit = AuditLog.objects.get(task=finished_task)
    assert (audit.actor, audit.action, audit.notes) == ("alice", "review_approved", "ship it")


def test_it_refuses_a_second_decision_on_the_same_visit_to_the_gate(finished_task):
    review_approve(task_id=finished_task.pk, reviewer_name="alice")

    with pytest.raises(ReviewError, match="not waiting for review"):
        review_approve(task_id=finished_task.pk, reviewer_name="bob")
    assert Review.objects.count() == 1
    assert AuditLog.objects.count() == 1


def test_it_requires_notes_to_reject(finished_task):
    with pytest.raises(ReviewError, match="needs notes"):
        review_reject(task_id=finished_task.pk, reviewer_name="alice", notes="  ")
    assert VideoTask.objects.get(pk=finished_task.pk).status == Status.FINAL_REVIEW


def test_it_rejects_an_unknown_scene_to_redo(finished_task):
    with pytest.raises(ReviewError, match="unknown scene 's99'"):
        review_reject(
            task_id=finished_task.pk, reviewer_name="alice", notes="bad", redo_step="videos",
            redo_scenes=["s99"],
        )  # fmt: skip


def test_it_sends_only_the_named_scenes_back_from_the_named_step(finished_task):
    review_reject(
        task_id=finished_task.pk,
        reviewer_name="alice",
        notes="the bulbasaur in s01 has five legs",
        redo_step="videos",
        redo_scenes=["s01"],
    )

    finished_task.refresh_from_db()
    assert finished_task.status == Status.VIDEO_ERROR
    assert finished_task.failed_step == "videos"
    assert "five legs" in finished_task.error_log
    pending = set(
        WorkItem.objects.filter(task=finished_task, state=WorkState.PENDING).values_list(
            "step", "unit"
        )
    )
    assert pending == {("videos", "s01"), ("audio", "s01"), ("sfx", "s01"), ("assembly", "video")}
    assert not STEP_BY_NAME["videos"].output(finished_task, "s01").exists()
    assert STEP_BY_NAME["videos"].output(finished_task, "s02").exists()
    assert STEP_BY_NAME["composites"].output(finished_task, "s01").exists()

    task_retry(task_id=finished_task.pk, actor="alice")
    assert VideoTask.objects.get(pk=finished_task.pk).status == Status.GENERATING_VIDEO


def test_it_refuses_to_decide_a_task_that_is_not_at_a_gate(workspace):
    task = VideoTaskFactory(status=Status.GENERATING_VIDEO)

    with pytest.raises(ReviewError, match="not waiting for review"):
        review_approve(task_id=task.pk, reviewer_name="alice")


def test_it_stops_at_an_optional_gate_only_when_the_channel_turns_it_on(workspace):
    gated = VideoTaskFactory(
        channel=ChannelFactory(id="with-gate", review_gates=["assets"]), status=Status.ASSETS_READY
    )
    ungated = VideoTaskFactory(channel=ChannelFactory(id="no-gate"), status=Status.ASSETS_READY)

    task_advance(gated.pk)
    task_advance(ungated.pk)

    assert VideoTask.objects.get(pk=gated.pk).status == Status.ASSETS_READY
    assert VideoTask.objects.get(pk=ungated.pk).status == Status.GENERATING_COMPOSITES

    review_approve(task_id=gated.pk, reviewer_name="alice")
    assert VideoTask.objects.get(pk=gated.pk).status == Status.ASSETS_APPROVED
    task_advance(gated.pk)
    assert VideoTask.objects.get(pk=gated.pk).status == Status.GENERATING_COMPOSITES
