"""Decisions at review gates: approve moves on once; reject with a redo sends the named units and
what is made from them back into production at once; reject with notes only stops."""

import pytest

from core.models import AuditLog
from pipeline import paths
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.services import task_advance
from pipeline.status import PRODUCTION_STEPS, Status
from pipeline.steps import STEP_BY_NAME
from pipeline.task_actions import task_retry
from reviews.decisions import (
    ReviewError,
    redo_steps_after_stop,
    review_approve,
    review_reject,
    task_redo,
)
from reviews.models import Review
from tests.factories import ChannelFactory, VideoTaskFactory, reviewer_user
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
    review_approve(task_id=finished_task.pk, reviewer=reviewer_user("alice"), notes="ship it")

    finished_task.refresh_from_db()
    assert finished_task.status == Status.APPROVED
    review = Review.objects.get(task=finished_task)
    assert (review.gate, review.decision, review.reviewer_name) == ("final", "approved", "alice")
    audit = AuditLog.objects.get(task=finished_task)
    assert (audit.actor, audit.action, audit.notes) == ("alice", "review_approved", "ship it")


def test_it_refuses_a_second_decision_on_the_same_visit_to_the_gate(finished_task):
    review_approve(task_id=finished_task.pk, reviewer=reviewer_user("alice"))

    with pytest.raises(ReviewError, match="not waiting for review"):
        review_approve(task_id=finished_task.pk, reviewer=reviewer_user("bob"))
    assert Review.objects.count() == 1
    assert AuditLog.objects.count() == 1


def test_it_requires_notes_to_reject(finished_task):
    with pytest.raises(ReviewError, match="needs notes"):
        review_reject(task_id=finished_task.pk, reviewer=reviewer_user("alice"), notes="  ")
    assert VideoTask.objects.get(pk=finished_task.pk).status == Status.FINAL_REVIEW


def test_it_rejects_an_unknown_scene_to_redo(finished_task):
    with pytest.raises(ReviewError, match="unknown scene 's99'"):
        review_reject(
            task_id=finished_task.pk, reviewer=reviewer_user("alice"), notes="bad",
            redo_step="videos", redo_scenes=["s99"],
        )  # fmt: skip


def _pending(task):
    return set(
        WorkItem.objects.filter(task=task, state=WorkState.PENDING).values_list("step", "unit")
    )


def test_a_redo_goes_back_into_production_with_only_the_named_scene_and_what_is_made_from_it(
    finished_task, django_capture_on_commit_callbacks
):
    WorkItem.objects.filter(task=finished_task).update(attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        review_reject(
            task_id=finished_task.pk,
            reviewer=reviewer_user("alice"),
            notes="the bulbasaur in s01 has five legs",
            redo_step="videos",
            redo_scenes=["s01"],
        )

    finished_task.refresh_from_db()
    assert finished_task.status == Status.GENERATING_VIDEO  # no error column, no retry needed
    assert finished_task.failed_step == ""
    # The narration and sfx are not made from the clip: kept.
    assert _pending(finished_task) == {("videos", "s01"), ("assembly", "video")}
    clip = WorkItem.objects.get(task=finished_task, step="videos", unit="s01")
    assert (clip.attempts, clip.retry_base) == (1, 1)  # never reset: the next run is attempt 2
    assert not STEP_BY_NAME["videos"].output(finished_task, "s01").exists()
    assert STEP_BY_NAME["videos"].output(finished_task, "s02").exists()
    assert STEP_BY_NAME["audio"].output(finished_task, "s01").exists()
    cut = paths.rejected_cut(finished_task.channel_id, str(finished_task.pk), 1)
    assert cut.read_bytes() == b"made"
    assert not paths.final_video(finished_task.channel_id, str(finished_task.pk)).exists()
    review = Review.objects.get(task=finished_task)
    assert review.rejected_cut.endswith("rejected/final-1.mp4")
    event = finished_task.events.get(to_status=Status.GENERATING_VIDEO)
    assert event.actor == "alice"
    assert "redo from videos (s01): videos s01 (attempt 2); assembly (attempt 2)" in event.reason


def test_no_scene_named_redoes_the_whole_step_for_every_scene(finished_task):
    review_reject(task_id=finished_task.pk, reviewer=reviewer_user("alice"), notes="all too dark",
                  redo_step="videos")  # fmt: skip

    assert _pending(finished_task) == {("videos", "s01"), ("videos", "s02"), ("assembly", "video")}


def test_a_redo_of_an_asset_remakes_its_composites_and_clips_not_the_narration(finished_task):
    review_reject(task_id=finished_task.pk, reviewer=reviewer_user("alice"), notes="wrong forest",
                  redo_step="assets", redo_scenes=["forest"])  # fmt: skip

    assert VideoTask.objects.get(pk=finished_task.pk).status == Status.GENERATING_ASSETS
    assert _pending(finished_task) == {
        ("assets", "forest"),
        ("composites", "s01"), ("composites", "s02"),
        ("videos", "s01"), ("videos", "s02"),
        ("assembly", "video"),
    }  # fmt: skip


def test_a_redo_of_a_narration_remakes_it_and_the_assembly_only(finished_task):
    review_reject(task_id=finished_task.pk, reviewer=reviewer_user("alice"), notes="mumbled",
                  redo_step="audio", redo_scenes=["s02"])  # fmt: skip

    assert _pending(finished_task) == {("audio", "s02"), ("assembly", "video")}


def test_it_refuses_sfx_for_a_scene_that_has_none_and_scenes_for_the_assembly(finished_task):
    with pytest.raises(ReviewError, match="redo sfx: scene 's02' has no sfx"):
        review_reject(task_id=finished_task.pk, reviewer=reviewer_user("alice"), notes="x",
                      redo_step="sfx", redo_scenes=["s02"])  # fmt: skip
    with pytest.raises(ReviewError, match="redo assembly: it is one unit"):
        review_reject(task_id=finished_task.pk, reviewer=reviewer_user("alice"), notes="x",
                      redo_step="assembly", redo_scenes=["s01"])  # fmt: skip
    with pytest.raises(ReviewError, match="redo step 'upload': choose one of assets, "):
        review_reject(task_id=finished_task.pk, reviewer=reviewer_user("alice"), notes="x",
                      redo_step="upload")  # fmt: skip
    assert VideoTask.objects.get(pk=finished_task.pk).status == Status.FINAL_REVIEW
    assert not Review.objects.exists()


def test_a_notes_only_rejection_stops_in_the_error_column_saying_so_then_a_redo_goes_on(
    finished_task, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        review_reject(
            task_id=finished_task.pk, reviewer=reviewer_user("alice"), notes="not sure yet"
        )

    finished_task.refresh_from_db()
    assert (finished_task.status, finished_task.failed_step) == (Status.VIDEO_ERROR, "assembly")
    assert "Rejected at final by alice: not sure yet" in finished_task.error_log
    assert "Next: redo from a step or cancel" in finished_task.error_log
    assert paths.rejected_cut(finished_task.channel_id, str(finished_task.pk), 1).exists()
    assert redo_steps_after_stop(finished_task) == list(PRODUCTION_STEPS)

    plan = task_redo(task_id=finished_task.pk, actor="bob", step="videos", units=["s02"])

    assert plan.units == {"videos": ["s02"], "assembly": ["video"]}
    finished_task.refresh_from_db()
    assert finished_task.status == Status.GENERATING_VIDEO
    assert AuditLog.objects.filter(action="task_redo", actor="bob").exists()
    with pytest.raises(ReviewError, match="a redo from a step is for a task stopped"):
        task_redo(task_id=finished_task.pk, actor="bob", step="videos")


def test_a_redo_after_a_failure_gives_the_failed_units_a_new_round_too(finished_task):
    WorkItem.objects.filter(task=finished_task, step="videos", unit="s02").update(
        state=WorkState.FAILED, attempts=3
    )
    VideoTask.objects.filter(pk=finished_task.pk).update(
        status=Status.VIDEO_ERROR, failed_step="videos"
    )

    with pytest.raises(ReviewError, match="redo step 'sfx': choose one of assets, composites, "
                       "videos$"):  # fmt: skip
        task_redo(task_id=finished_task.pk, actor="bob", step="sfx")

    task_redo(task_id=finished_task.pk, actor="bob", step="videos", units=["s01"])

    failed = WorkItem.objects.get(task=finished_task, step="videos", unit="s02")
    assert (failed.state, failed.attempts, failed.round_attempts) == (WorkState.PENDING, 3, 0)
    assert _pending(finished_task) == {("videos", "s01"), ("videos", "s02"), ("assembly", "video")}


def test_retry_from_an_error_keeps_the_attempt_count_and_restarts_the_retry_budget(workspace):
    task = VideoTaskFactory(status=Status.VIDEO_ERROR, failed_step="videos")
    item = WorkItem.objects.create(task=task, step="videos", unit="s01", script="generate_video",
                                   provider="local", output_path="x", state=WorkState.FAILED,
                                   attempts=3)  # fmt: skip

    task_retry(task_id=task.pk, actor="alice")

    item.refresh_from_db()
    assert (item.state, item.attempts, item.retry_base, item.round_attempts) == (
        WorkState.PENDING, 3, 3, 0,
    )  # fmt: skip


def test_it_refuses_to_decide_a_task_that_is_not_at_a_gate(workspace):
    task = VideoTaskFactory(status=Status.GENERATING_VIDEO)

    with pytest.raises(ReviewError, match="not waiting for review"):
        review_approve(task_id=task.pk, reviewer=reviewer_user("alice"))


def test_it_stops_at_an_optional_gate_only_when_the_channel_turns_it_on(workspace):
    gated = VideoTaskFactory(
        channel=ChannelFactory(id="with-gate", review_gates=["assets"]), status=Status.ASSETS_READY
    )
    ungated = VideoTaskFactory(channel=ChannelFactory(id="no-gate"), status=Status.ASSETS_READY)

    task_advance(gated.pk)
    task_advance(ungated.pk)

    assert VideoTask.objects.get(pk=gated.pk).status == Status.ASSETS_READY
    assert VideoTask.objects.get(pk=ungated.pk).status == Status.GENERATING_COMPOSITES

    review_approve(task_id=gated.pk, reviewer=reviewer_user("alice"))
    assert VideoTask.objects.get(pk=gated.pk).status == Status.ASSETS_APPROVED
    task_advance(gated.pk)
    assert VideoTask.objects.get(pk=gated.pk).status == Status.GENERATING_COMPOSITES
