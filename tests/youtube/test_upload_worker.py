"""The upload on the real stack: a Celery worker process on Redis and PostgreSQL, uploading to the
fake YouTube server in this process."""

import pytest

from pipeline.models import Upload, UploadState, VideoTask
from pipeline.reconcile import pipeline_reconcile
from pipeline.status import Status
from reviews.decisions import review_approve
from tests.factories import reviewer_user
from tests.fakes.youtube import FakeYouTube
from tests.pipeline.conftest import wait_for
from tests.youtube.conftest import CHUNK, ready_task, youtube_channel

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_youtube(pipeline_env):
    with FakeYouTube() as fake:
        pipeline_env.update(
            {"YOUTUBE_API_BASE": fake.url, "YOUTUBE_UPLOAD_CHUNK_BYTES": str(CHUNK)}
        )
        yield fake


def status_of(task):
    return VideoTask.objects.get(pk=task.pk).status


def describe(task, worker):
    task = VideoTask.objects.get(pk=task.pk)
    upload = Upload.objects.filter(task=task).values().first()
    return f"status={task.status} log={task.error_log!r} upload={upload}\n{worker.log()[-3000:]}"


def test_an_approved_video_is_uploaded_by_the_worker_and_published(
    worker_youtube, worker, workspace, sample_video
):
    channel = youtube_channel()
    task = ready_task(channel, sample_video, status=Status.FINAL_REVIEW)
    worker.start()

    review_approve(task_id=task.pk, reviewer=reviewer_user("alice"), notes="ship it")

    wait_for(lambda: status_of(task) == Status.PUBLISHED, timeout=40,
             describe=lambda: describe(task, worker))  # fmt: skip
    task = VideoTask.objects.get(pk=task.pk)
    video_id = next(iter(worker_youtube.videos))
    assert task.video.youtube_video_id == video_id
    assert task.video.youtube_url == f"https://www.youtube.com/watch?v={video_id}"
    assert task.video.published_at is not None
    assert worker_youtube.inserts == 1
    assert worker_youtube.insert_bodies[0]["status"]["containsSyntheticMedia"] is True
    path = [event.to_status for event in task.events.all()]
    assert path[-3:] == [Status.APPROVED, Status.UPLOADING, Status.PUBLISHED]


def test_a_worker_killed_mid_upload_is_resumed_by_another_on_the_same_session(
    worker_youtube, worker, workspace, sample_video
):
    worker_youtube.chunk_delay = 0.4
    channel = youtube_channel()
    task = ready_task(channel, sample_video, status=Status.FINAL_REVIEW)
    worker.start()
    review_approve(task_id=task.pk, reviewer=reviewer_user("alice"))

    wait_for(lambda: worker_youtube.chunks >= 2, timeout=30,
             describe=lambda: describe(task, worker))  # fmt: skip
    worker.kill()
    upload = Upload.objects.get(task=task)
    assert upload.session_uri and upload.state == UploadState.UPLOADING
    assert upload.bytes_confirmed >= CHUNK and worker_youtube.inserts == 0

    worker_youtube.chunk_delay = 0
    worker.start()

    def resumed():
        pipeline_reconcile()  # re-sends the unit once its lease has expired
        return status_of(task) == Status.PUBLISHED

    wait_for(resumed, timeout=60, interval=1, describe=lambda: describe(task, worker))
    assert worker_youtube.session_starts == 1
    assert worker_youtube.inserts == 1
    assert worker_youtube.status_queries >= 1
    assert worker_youtube.bytes_received == sample_video.stat().st_size
    upload.refresh_from_db()
    assert upload.attempts == 2 and upload.state == UploadState.DONE
    assert VideoTask.objects.get(pk=task.pk).video.youtube_video_id == upload.video_id


@pytest.mark.fault
def test_fault_10_worker_killed_after_youtube_answered_before_the_id_was_saved(
    worker_youtube, worker, workspace, sample_video
):
    """YouTube makes the video, but its answer never reaches the worker, which is then
    SIGKILLed: the next run asks the saved session, finds the video, and inserts nothing."""
    worker_youtube.hang_after_last_chunk = True
    channel = youtube_channel()
    task = ready_task(channel, sample_video, status=Status.FINAL_REVIEW)
    worker.start()
    review_approve(task_id=task.pk, reviewer=reviewer_user("alice"))

    wait_for(lambda: worker_youtube.inserts == 1, timeout=30,
             describe=lambda: describe(task, worker))  # fmt: skip
    worker.kill()
    assert not Upload.objects.get(task=task).video_id  # the answer was lost with the worker
    worker_youtube.hang_after_last_chunk = False
    worker.start()

    def settled():
        pipeline_reconcile()  # re-sends the unit once its lease has expired
        return status_of(task) == Status.PUBLISHED

    wait_for(settled, timeout=60, interval=1, describe=lambda: describe(task, worker))
    assert worker_youtube.inserts == 1
    assert worker_youtube.session_starts == 1
    upload = Upload.objects.get(task=task)
    assert upload.video_id == next(iter(worker_youtube.videos))


@pytest.mark.fault
def test_fault_11_timeout_after_the_last_chunk_is_reconciled_without_a_second_insert(
    worker_youtube, worker, workspace, sample_video, pipeline_env
):
    """The last chunk left, no answer came in time and the session cannot be asked either:
    the outcome is unknown. The task stops in Upload Error with a CRITICAL alert and an audit
    row; reconciliation asks the session, finds the video and publishes it; nothing is inserted
    twice."""
    from core.models import Alert, AuditLog
    from pipeline.integrations.youtube_reconcile import uploads_reconcile

    worker_youtube.hang_after_last_chunk = True
    worker_youtube.unanswerable_status_queries = True
    pipeline_env["YOUTUBE_HTTP_TIMEOUT_SECONDS"] = "3"
    channel = youtube_channel()
    task = ready_task(channel, sample_video, status=Status.FINAL_REVIEW)
    worker.start()
    review_approve(task_id=task.pk, reviewer=reviewer_user("alice"))

    wait_for(lambda: status_of(task) == Status.UPLOAD_ERROR, timeout=60,
             describe=lambda: describe(task, worker))  # fmt: skip
    assert Upload.objects.get(task=task).state == UploadState.UNKNOWN
    assert Alert.objects.filter(level="CRITICAL").exists()
    assert AuditLog.objects.filter(action="upload_outcome_unknown", task=task).exists()
    worker_youtube.hang_after_last_chunk = False
    worker_youtube.unanswerable_status_queries = False

    def settled():
        uploads_reconcile()  # beat
        pipeline_reconcile()
        return status_of(task) == Status.PUBLISHED

    wait_for(settled, timeout=60, interval=1, describe=lambda: describe(task, worker))
    assert worker_youtube.inserts == 1
    assert worker_youtube.session_starts == 1


@pytest.mark.fault
def test_fault_12_two_approvals_and_two_upload_triggers_make_one_upload(
    worker_youtube, worker, workspace, sample_video
):
    import threading

    from django.db import connection

    from pipeline import tasks
    from reviews.decisions import ReviewError

    worker_youtube.chunk_delay = 0.2
    channel = youtube_channel()
    task = ready_task(channel, sample_video, status=Status.FINAL_REVIEW)
    worker.start()
    outcomes = []
    reviewers_by_name = {name: reviewer_user(name) for name in ("alice", "bob")}

    def approve(name):
        try:
            review_approve(task_id=task.pk, reviewer=reviewers_by_name[name])
            outcomes.append("approved")
        except ReviewError:
            outcomes.append("refused")
        finally:
            connection.close()  # this thread's own connection

    reviewers = [threading.Thread(target=approve, args=(n,)) for n in ("alice", "bob")]
    for thread in reviewers:
        thread.start()
    for thread in reviewers:
        thread.join()
    for _ in range(2):  # the upload triggered again, twice, while it runs
        tasks.advance_task.apply_async(args=[str(task.pk)])
        tasks.run_step.apply_async(args=[str(task.pk), "upload"])

    wait_for(lambda: status_of(task) == Status.PUBLISHED, timeout=60,
             describe=lambda: describe(task, worker))  # fmt: skip
    assert sorted(outcomes) == ["approved", "refused"]
    assert worker_youtube.session_starts == 1
    assert worker_youtube.inserts == 1
