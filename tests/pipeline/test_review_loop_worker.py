"""The review loop on the real stack (a Celery worker process, Redis, PostgreSQL, fake scripts):
final review -> reject with a redo -> back at final review with no other command, only the asked
clips and the assembly made again, every paid call with its own cost row."""

import hashlib
import time
from pathlib import Path

import pytest

from costs.models import VideoCost
from pipeline import dispatch, paths
from pipeline.models import TaskEvent, VideoTask, WorkItem, WorkState
from pipeline.services import video_task_create
from pipeline.status import ERROR_STATUSES, Status
from pipeline.transitions import task_transition
from reviews.decisions import review_reject
from reviews.models import Review
from tests.factories import reviewer_user
from tests.pipeline.conftest import wait_for
from tests.pipeline.test_pipeline_worker import describe, status_of, storyboard

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def runs_by_output(calls, script):
    counts = {}
    for entry in calls.entries():
        if entry["event"] == "done" and entry["script"] == script:
            name = Path(entry["output"]).stem
            counts[name] = counts.get(name, 0) + 1
    return counts


def at_final_review(task, worker):
    wait_for(
        lambda: status_of(task) == Status.FINAL_REVIEW,
        timeout=120,
        describe=lambda: describe(task, worker),
    )
    return paths.final_video(task.channel_id, str(task.pk))


def clip_cost_attempts(task, scene):
    item = WorkItem.objects.get(task=task, step="videos", unit=scene)
    return sorted(VideoCost.objects.filter(work_item=item).values_list("attempt", flat=True))


@pytest.fixture
def first_cut(pipeline_env, worker, local_channel):
    pipeline_env["FAKE_MARK_RUNS"] = "1"
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(3))
    final = at_final_review(task, worker)
    return task, digest(final)


def test_a_rejected_scene_is_made_again_and_the_task_comes_back_to_final_review(
    first_cut, worker, calls
):
    task, first_digest = first_cut

    review_reject(
        task_id=task.pk,
        reviewer=reviewer_user("alice"),
        notes="s02: the bulbasaur has five legs",
        redo_step="videos",
        redo_scenes=["s02"],
    )
    assert status_of(task) == Status.GENERATING_VIDEO  # back in production at once

    final = at_final_review(task, worker)

    assert runs_by_output(calls, "generate_video") == {"s01": 1, "s02": 2, "s03": 1}
    assert runs_by_output(calls, "generate_audio") == {"s01": 1, "s02": 1, "s03": 1}
    assert runs_by_output(calls, "create_composite") == {"s01": 1, "s02": 1, "s03": 1}
    assert runs_by_output(calls, "assemble_video") == {"final": 2}
    assert clip_cost_attempts(task, "s02") == [1, 2]
    assert clip_cost_attempts(task, "s01") == [1]
    assembly = WorkItem.objects.get(task=task, step="assembly")
    assert sorted(assembly.costs.values_list("attempt", flat=True)) == [1, 2]
    assert VideoCost.objects.filter(task=task).count() == 14 + 2

    assert digest(final) != first_digest
    kept = paths.rejected_cut(task.channel_id, str(task.pk), 1)
    assert digest(kept) == first_digest
    review = Review.objects.get(task=task)
    assert review.rejected_cut == kept.relative_to(paths.workspace_root()).as_posix()
    assert VideoTask.objects.get(pk=task.pk).video.size_bytes == final.stat().st_size

    redo = TaskEvent.objects.get(task=task, from_status=Status.FINAL_REVIEW)
    since_review = TaskEvent.objects.filter(task=task, id__gte=redo.id)
    path = [event.to_status for event in since_review]
    assert not set(path) & ERROR_STATUSES
    assert path[0] == Status.GENERATING_VIDEO and path[-1] == Status.FINAL_REVIEW
    assert redo.actor == "alice"
    assert "redo from videos (s02): videos s02 (attempt 2); assembly (attempt 2)" in redo.reason
    assert WorkItem.objects.get(task=task, step="videos", unit="s02").attempts == 2


def test_a_rejection_with_no_scene_ticked_makes_every_clip_of_the_step_again(
    first_cut, worker, calls
):
    task, first_digest = first_cut

    review_reject(
        task_id=task.pk, reviewer=reviewer_user("alice"), notes="the motion is wrong everywhere",
        redo_step="videos",
    )  # fmt: skip

    final = at_final_review(task, worker)

    assert runs_by_output(calls, "generate_video") == {"s01": 2, "s02": 2, "s03": 2}
    # Narration and sfx are not made from the clips: not made (or paid for) again.
    assert runs_by_output(calls, "generate_audio") == {"s01": 1, "s02": 1, "s03": 1}
    assert runs_by_output(calls, "generate_sound_effects") == {"s01": 1, "s03": 1}
    for scene in ("s01", "s02", "s03"):
        assert clip_cost_attempts(task, scene) == [1, 2]
    assert digest(final) != first_digest
    assert digest(paths.rejected_cut(task.channel_id, str(task.pk), 1)) == first_digest
    assert not WorkItem.objects.filter(task=task).exclude(state=WorkState.DONE).exists()


def test_a_second_redo_is_a_third_attempt_and_keeps_both_rejected_cuts(first_cut, worker, calls):
    task, first_digest = first_cut
    review_reject(
        task_id=task.pk, reviewer=reviewer_user("alice"), notes="s01 too dark", redo_step="videos",
        redo_scenes=["s01"],
    )  # fmt: skip
    second_digest = digest(at_final_review(task, worker))

    review_reject(
        task_id=task.pk, reviewer=reviewer_user("bob"), notes="s01 still too dark",
        redo_step="videos", redo_scenes=["s01"],
    )  # fmt: skip
    final = at_final_review(task, worker)

    assert clip_cost_attempts(task, "s01") == [1, 2, 3]
    cuts = paths.rejected_cuts(task.channel_id, str(task.pk))
    assert [digest(cut) for cut in cuts] == [first_digest, second_digest]
    assert digest(final) not in (first_digest, second_digest)


def test_an_unexpected_database_error_while_recording_stops_the_task_at_once(
    pipeline_env, worker, calls, local_channel
):
    """The bug this guards against: a cost row for (work item, attempt) already there makes the
    record step raise IntegrityError; the task used to sit in Generating Video until its lease
    expired. It must stop in Video Error with the message within seconds."""
    task = video_task_create(channel=local_channel, storyboard=storyboard(2), queue=False)
    output = paths.unit_output(task.channel_id, str(task.pk), "videos", "s01")
    item = WorkItem.objects.create(
        task=task, step="videos", unit="s01", script="generate_video", provider="local",
        output_path=str(output),
    )  # fmt: skip
    VideoCost.objects.create(
        task=task, channel=local_channel, work_item=item, attempt=1, component="video",
        provider="local", units=5, unit_name="clip_seconds", usd=0,
    )  # fmt: skip
    pipeline_env["PIPELINE_LEASE_SECONDS"] = "600"  # a stall would last ten minutes
    worker.start()
    task_transition(task=task, to=Status.QUEUED, reason="queued by the test")
    dispatch.dispatch_schedule()

    wait_for(
        lambda: status_of(task) == Status.VIDEO_ERROR,
        timeout=90,
        describe=lambda: describe(task, worker),
    )
    clip_done = max(
        e["t"] for e in calls.entries() if e["event"] == "done" and e["output"] == str(output)
    )
    stopped = TaskEvent.objects.get(task=task, to_status=Status.VIDEO_ERROR).created_at
    assert stopped.timestamp() - clip_done < 10
    task.refresh_from_db()
    assert task.failed_step == "videos"
    assert "step videos, scene s01: unexpected error on attempt 1: IntegrityError" in task.error_log
    assert "video_cost_one_per_call" in task.error_log
    item.refresh_from_db()
    assert item.state == WorkState.FAILED and "video_cost_one_per_call" in item.error
    assert time.time() - clip_done < 60


def test_after_a_local_publish_the_task_page_links_the_file_and_uploads_lists_it(
    first_cut, worker, client
):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from pipeline.models import Upload, UploadState
    from reviews.decisions import review_approve

    task, _ = first_cut
    review_approve(task_id=task.pk, reviewer=reviewer_user("alice"), notes="good")
    wait_for(lambda: status_of(task) == Status.PUBLISHED, timeout=60,
             describe=lambda: describe(task, worker))  # fmt: skip

    upload = Upload.objects.get(task=task)
    assert upload.state == UploadState.DONE and upload.video_id.startswith("local-")
    assert upload.total_bytes == paths.published_video(task.channel_id, str(task.pk)).stat().st_size
    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin_user)
    page = client.get(reverse("reviews:task", args=[task.pk])).content.decode()
    relative = paths.published_video(task.channel_id, str(task.pk)).relative_to(
        paths.workspace_root()
    )
    link = reverse("media", kwargs={"relative": relative.as_posix()})
    assert f'id="published-link" href="{link}"' in page
    record = client.get(reverse("admin:pipeline_videotask_change", args=[task.pk]))
    assert link in record.content.decode()
    uploads = client.get(reverse("admin:pipeline_upload_changelist")).content.decode()
    assert upload.video_id in uploads
    assert client.get(link).status_code == 200
