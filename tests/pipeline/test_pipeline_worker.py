"""The pipeline on the real stack: a Celery worker process, Redis, PostgreSQL, fake scripts."""

from pathlib import Path

import pytest

from costs.models import VideoCost
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.services import video_task_create
from pipeline.status import Status
from reviews.decisions import review_approve
from tests.factories import SAMPLE_STORYBOARD, reviewer_user
from tests.pipeline.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def storyboard(scenes=3):
    board = {**SAMPLE_STORYBOARD, "scenes": []}
    for number in range(1, scenes + 1):
        board["scenes"].append(
            {
                "id": f"s{number:02d}",
                "composite": {"environment": "forest", "character": "bulbasaur", "scale": 1.0},
                "motion": "slow dolly in",
                "narration": f"Scene {number} narration.",
                "sfx": "wind" if number % 2 else "",
                "duration": 5,
            }
        )
    return board


def status_of(task):
    return VideoTask.objects.get(pk=task.pk).status


def describe(task, worker):
    task = VideoTask.objects.get(pk=task.pk)
    items = list(WorkItem.objects.filter(task=task).values_list("step", "unit", "state", "error"))
    return (
        f"status={task.status} error_log={task.error_log!r} items={items}\n{worker.log()[-4000:]}"
    )


def test_it_takes_a_video_from_queued_to_final_review_then_publishes_on_approval(
    pipeline_env, worker, calls, local_channel
):
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(3))

    wait_for(
        lambda: status_of(task) == Status.FINAL_REVIEW,
        timeout=90,
        describe=lambda: describe(task, worker),
    )
    done = WorkItem.objects.filter(task=task, state=WorkState.DONE)
    # 2 assets, 3 composites, 3 clips, 3 narrations, 2 sfx, 1 assembly
    assert done.count() == 14
    assert VideoCost.objects.filter(task=task).count() == 14
    assert calls.count("done") == 14
    path = [e.to_status for e in task.events.all()]
    assert path[:4] == [
        Status.QUEUED,
        Status.CLAIMED,
        Status.GENERATING_ASSETS,
        Status.ASSETS_READY,
    ]
    assert path[-1] == Status.FINAL_REVIEW

    review_approve(task_id=task.pk, reviewer=reviewer_user("alice"), notes="looks good")

    wait_for(
        lambda: status_of(task) == Status.PUBLISHED,
        timeout=30,
        describe=lambda: describe(task, worker),
    )
    task.refresh_from_db()
    assert task.video.published_at is not None
    workspace = Path(pipeline_env["WORKSPACE_ROOT"])
    assert (workspace / "channels" / local_channel.id / "published" / f"{task.pk}.mp4").exists()


def test_it_makes_a_real_video_with_the_local_provider_scripts(pipeline_env, worker, local_channel):
    """The shipped scripts themselves (--provider local), not the fakes: real media end to end."""
    import av
    from django.conf import settings as django_settings

    pipeline_env["VIDEOGEN_SCRIPTS_DIR"] = str(django_settings.BASE_DIR / "scripts")
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(2))

    wait_for(
        lambda: status_of(task) == Status.FINAL_REVIEW,
        timeout=240,
        interval=1,
        describe=lambda: describe(task, worker),
    )
    task.refresh_from_db()
    with av.open(task.video.final_path) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert container.streams.audio
    assert task.video.duration_seconds > 2


def test_an_asset_with_a_reference_is_made_after_it_and_given_its_image(
    pipeline_env, worker, calls, local_channel
):
    board = storyboard(1)
    board["assets"] = [
        {"id": "forest", "kind": "environment", "prompt": "a misty forest"},
        {"id": "bulbasaur", "kind": "character", "prompt": "Bulbasaur", "reference": "sketch"},
        {"id": "sketch", "kind": "character", "prompt": "a pencil sketch of Bulbasaur"},
    ]
    pipeline_env["FAKE_LATENCY_GENERATE_ASSET"] = "1"
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=board)

    wait_for(lambda: status_of(task) == Status.FINAL_REVIEW, timeout=90,
             describe=lambda: describe(task, worker))  # fmt: skip
    runs = [e for e in calls.entries() if e["script"] == "generate_asset"]
    by_asset = {Path(e["output"]).stem: e for e in runs if e["event"] == "start"}
    sketch_done = next(
        e["t"] for e in runs if e["event"] == "done" and Path(e["output"]).stem == "sketch"
    )
    args = by_asset["bulbasaur"]["args"]
    assert args[args.index("--reference-image") + 1] == by_asset["sketch"]["output"]
    assert by_asset["bulbasaur"]["t"] >= sketch_done  # made after its reference, not with it
    assert "--reference-image" not in by_asset["forest"]["args"]
    assert calls.count("start", "generate_asset") == 3  # waiting cost no extra run
    assert WorkItem.objects.get(task=task, step="assets", unit="bulbasaur").attempts == 1


def test_a_plain_worker_without_queues_named_runs_a_whole_video(
    pipeline_env, worker, local_channel
):
    worker.start(queues=None)  # `celery -A videogen worker`, as everyone types it
    task = video_task_create(channel=local_channel, storyboard=storyboard(2))

    wait_for(lambda: status_of(task) == Status.FINAL_REVIEW, timeout=90,
             describe=lambda: describe(task, worker))  # fmt: skip
    assert "units" in worker.log() and "control" in worker.log()  # its banner lists both
