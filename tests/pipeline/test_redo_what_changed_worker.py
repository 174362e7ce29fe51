"""Redo what changed, on the real stack (a Celery worker, Redis, PostgreSQL, fake scripts that log
every call): after a storyboard edit, exactly the units whose fingerprint changed and everything
made from them are made again, each a new paid call with its own cost row, and nothing else."""

import pytest

from costs.models import VideoCost
from pipeline.models import VideoTask, WorkItem
from pipeline.services import video_task_create
from pipeline.status import Status
from pipeline.storyboard_edits import storyboard_yaml, task_storyboard_edit
from reviews.decisions import review_approve, review_reject
from reviews.edit_preview import redo_changed_preview
from tests.factories import ChannelFactory, reviewer_user
from tests.pipeline.conftest import wait_for
from tests.pipeline.test_pipeline_worker import describe, status_of, storyboard
from tests.pipeline.test_review_loop_worker import runs_by_output

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_status(task, worker, status):
    wait_for(
        lambda: status_of(task) == status, timeout=120, describe=lambda: describe(task, worker)
    )


def edit(task, old, new):
    task = VideoTask.objects.get(pk=task.pk)
    text = storyboard_yaml(task.storyboard)
    assert text.count(old) == 1, text
    task_storyboard_edit(task_id=task.pk, actor="alice", text=text.replace(old, new))


def cost_rows(task, step=None):
    rows = VideoCost.objects.filter(task=task)
    return rows.filter(work_item__step=step).count() if step else rows.count()


def test_an_edited_motion_at_video_review_remakes_that_clip_then_at_final_the_clip_and_the_cut(
    pipeline_env, worker, calls
):
    channel = ChannelFactory(id="pokechannel1", review_gates=["video"], max_concurrent=5)
    worker.start()
    board = storyboard(3)
    board["scenes"][1]["motion"] = "slow pan left"
    board["scenes"][2]["motion"] = "gentle zoom out"
    task = video_task_create(channel=channel, storyboard=board)
    wait_status(task, worker, Status.VIDEO_READY)
    assert cost_rows(task) == 2 + 3 + 3
    assert all(
        len(f) == 64
        for f in WorkItem.objects.filter(task=task).values_list("fingerprint", flat=True)
    )

    edit(task, "motion: slow pan left", "motion: slow pan right")
    plan, estimate, _ = redo_changed_preview(VideoTask.objects.get(pk=task.pk))
    assert plan.units == {"videos": ["s02"], "assembly": ["video"]}
    assert estimate == 0  # the local provider is free; priced providers: tests/admin
    review_reject(task_id=task.pk, reviewer=reviewer_user("alice"), notes="s02 pans the wrong way",
                  redo_changed=True)  # fmt: skip
    assert status_of(task) == Status.GENERATING_VIDEO
    wait_status(task, worker, Status.VIDEO_READY)

    assert runs_by_output(calls, "generate_video") == {"s01": 1, "s02": 2, "s03": 1}
    assert runs_by_output(calls, "generate_asset") == {"bulbasaur": 1, "forest": 1}
    assert runs_by_output(calls, "create_composite") == {"s01": 1, "s02": 1, "s03": 1}
    assert cost_rows(task) == 2 + 3 + 3 + 1

    review_approve(task_id=task.pk, reviewer=reviewer_user("alice"), notes="good now")
    wait_status(task, worker, Status.FINAL_REVIEW)
    assert cost_rows(task) == 14 + 1

    edit(task, "motion: gentle zoom out", "motion: gentle zoom in")
    plan, _, _ = redo_changed_preview(VideoTask.objects.get(pk=task.pk))
    assert plan.units == {"videos": ["s03"], "assembly": ["video"]}
    review_reject(task_id=task.pk, reviewer=reviewer_user("bob"), notes="s03 should zoom in",
                  redo_changed=True)  # fmt: skip
    wait_status(task, worker, Status.VIDEO_READY)  # the remade clip passes the video gate again
    review_approve(task_id=task.pk, reviewer=reviewer_user("bob"), notes="zooms in now")
    wait_status(task, worker, Status.FINAL_REVIEW)

    assert runs_by_output(calls, "generate_video") == {"s01": 1, "s02": 2, "s03": 2}
    assert runs_by_output(calls, "assemble_video") == {"final": 2}
    assert runs_by_output(calls, "generate_asset") == {"bulbasaur": 1, "forest": 1}
    assert runs_by_output(calls, "create_composite") == {"s01": 1, "s02": 1, "s03": 1}
    assert runs_by_output(calls, "generate_audio") == {"s01": 1, "s02": 1, "s03": 1}
    assert runs_by_output(calls, "generate_sound_effects") == {"s01": 1, "s03": 1}
    assert cost_rows(task) == 14 + 1 + 2
    assert cost_rows(task, "videos") == 3 + 2 and cost_rows(task, "assembly") == 2
    _, _, nothing = redo_changed_preview(VideoTask.objects.get(pk=task.pk))
    assert "nothing made so far differs from the storyboard" in nothing


def test_an_edited_character_prompt_remakes_it_its_composites_their_clips_and_the_cut(
    pipeline_env, worker, calls, local_channel
):
    worker.start()
    board = storyboard(3)
    board["assets"] = [
        *board["assets"],
        {"id": "ivysaur", "kind": "character", "prompt": "Ivysaur, photorealistic"},
    ]
    board["scenes"][2]["composite"] = {"environment": "forest", "character": "ivysaur"}
    task = video_task_create(channel=local_channel, storyboard=board)
    wait_status(task, worker, Status.FINAL_REVIEW)
    first_costs = cost_rows(task)
    assert first_costs == 3 + 3 + 3 + 3 + 2 + 1

    edit(task, "prompt: Bulbasaur, photorealistic", "prompt: Bulbasaur, watercolour")
    plan, _, _ = redo_changed_preview(VideoTask.objects.get(pk=task.pk))
    assert plan.units == {
        "assets": ["bulbasaur"],
        "composites": ["s01", "s02"],
        "videos": ["s01", "s02"],
        "assembly": ["video"],
    }
    review_reject(task_id=task.pk, reviewer=reviewer_user("alice"), notes="watercolour, please",
                  redo_changed=True)  # fmt: skip
    assert status_of(task) == Status.GENERATING_ASSETS
    wait_status(task, worker, Status.FINAL_REVIEW)

    assert runs_by_output(calls, "generate_asset") == {"bulbasaur": 2, "forest": 1, "ivysaur": 1}
    assert runs_by_output(calls, "create_composite") == {"s01": 2, "s02": 2, "s03": 1}
    assert runs_by_output(calls, "generate_video") == {"s01": 2, "s02": 2, "s03": 1}
    assert runs_by_output(calls, "generate_audio") == {"s01": 1, "s02": 1, "s03": 1}
    assert runs_by_output(calls, "generate_sound_effects") == {"s01": 1, "s03": 1}
    assert runs_by_output(calls, "assemble_video") == {"final": 2}
    assert cost_rows(task) == first_costs + 1 + 2 + 2 + 1
