"""A ninth step declared and nothing else (tests/pipeline/ninth_step.py: its declaration, its
script, its statuses allowed in the database) takes a video through a real worker."""

from pathlib import Path

import pytest
from django.db.models import Q

from costs.models import VideoCost
from pipeline.models import TaskEvent, VideoTask, WorkItem, WorkState
from pipeline.services import video_task_create
from tests.pipeline.conftest import Worker, wait_for
from tests.pipeline.ninth_step import ninth_step_migration
from tests.pipeline.test_pipeline_worker import describe, storyboard

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ninth_step_worker(pipeline_env, tmp_path):
    """A worker whose list of steps has Polish after videos, on a database that allows it."""
    with ninth_step_migration():
        handle = Worker(
            pipeline_env,
            tmp_path,
            prelude="from tests.pipeline.ninth_step import install\ninstall()",
        )
        try:
            yield handle.start()
        finally:
            handle.stop()
            # Polish's rows go before the checks without it come back.
            VideoCost.objects.filter(work_item__step="polish").delete()
            WorkItem.objects.filter(step="polish").delete()
            VideoTask.objects.filter(
                Q(status__in=["polishing", "polished"]) | Q(failed_step="polish")
            ).update(status="draft", failed_step="")


def test_a_real_worker_runs_a_video_through_a_step_declared_only(
    ninth_step_worker, calls, local_channel, pipeline_env
):
    task = video_task_create(channel=local_channel, storyboard=storyboard(3))

    wait_for(
        lambda: VideoTask.objects.get(pk=task.pk).status == "final_review",
        timeout=90,
        describe=lambda: describe(task, ninth_step_worker),
    )
    polished = WorkItem.objects.filter(task=task, step="polish")
    assert sorted(polished.values_list("unit", "state")) == [
        ("s01", WorkState.DONE),
        ("s02", WorkState.DONE),
        ("s03", WorkState.DONE),
    ]
    assert calls.count("done", "polish_clip") == 3
    path = list(TaskEvent.objects.filter(task=task).values_list("to_status", flat=True))
    between = path[path.index("video_ready") + 1 : path.index("generating_audio") + 1]
    assert between == ["polishing", "polished", "generating_audio"]
    project = Path(pipeline_env["WORKSPACE_ROOT"]) / "channels" / local_channel.id / "projects"
    for scene in ("s01", "s02", "s03"):
        clip = project / str(task.pk) / "videos" / f"{scene}.mp4"
        polished_clip = project / str(task.pk) / "polished" / f"{scene}.mp4"
        assert polished_clip.stat().st_size > 0
        # Made from the clip: the script was given it as its input.
        run = next(
            entry
            for entry in calls.entries()
            if entry["event"] == "start" and entry["output"] == str(polished_clip)
        )
        assert run["args"][:2] == ["--input", str(clip)]
