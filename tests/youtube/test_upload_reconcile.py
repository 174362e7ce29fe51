"""Uploads whose outcome was unknown, or whose answer was lost, settle on the same session:
never a second insert."""

import pytest

from pipeline import services, units
from pipeline.integrations import youtube, youtube_reconcile, youtube_row
from pipeline.models import Upload, UploadState, VideoTask, WorkItem
from pipeline.status import Status
from pipeline.unit_spec import UnitBusy


@pytest.mark.django_db
def test_an_answer_lost_before_the_id_was_saved_is_found_by_the_status_query(
    fake_youtube, task, monkeypatch
):
    real_saved = youtube_row.video_saved

    def killed(*args):
        raise KeyboardInterrupt  # the process dies between YouTube's answer and our save

    monkeypatch.setattr(youtube_row, "video_saved", killed)
    with pytest.raises(KeyboardInterrupt):
        youtube.upload_video(task)
    assert Upload.objects.get(task=task).video_id == "" and fake_youtube.inserts == 1

    monkeypatch.setattr(youtube_row, "video_saved", real_saved)
    youtube.upload_video(task)

    upload = Upload.objects.get(task=task)
    assert upload.video_id == next(iter(fake_youtube.videos))
    assert fake_youtube.inserts == 1 and fake_youtube.session_starts == 1
    assert fake_youtube.status_queries == 1


@pytest.mark.django_db
def test_a_second_execution_does_not_touch_an_upload_another_one_holds(fake_youtube, task):
    upload = youtube_row.upload_row_get(task)
    youtube_row.upload_claim(upload, "worker-a")

    with pytest.raises(UnitBusy) as busy:
        youtube.upload_video(task)

    # Not a failure and not an attempt: the message comes back when the holder's lease ends.
    assert busy.value.until == Upload.objects.get(pk=upload.pk).lease_expires_at
    assert "another worker is uploading it" in str(busy.value)
    assert fake_youtube.requests == []


@pytest.mark.django_db(transaction=True)
def test_the_reconciler_settles_an_unknown_upload_and_the_task_publishes_once(
    fake_youtube, broker, task
):
    fake_youtube.hang_after_last_chunk = True
    fake_youtube.unanswerable_status_queries = True
    services.step_run(task.pk, "upload")
    item = WorkItem.objects.get(task=task, step="upload")
    assert units.unit_run(item.pk) == "failed"
    assert VideoTask.objects.get(pk=task.pk).status == Status.UPLOAD_ERROR
    assert Upload.objects.get(task=task).state == UploadState.UNKNOWN

    fake_youtube.hang_after_last_chunk = False
    fake_youtube.unanswerable_status_queries = False
    assert youtube_reconcile.uploads_reconcile() == [task.pk]

    assert VideoTask.objects.get(pk=task.pk).status == Status.UPLOADING
    assert units.unit_run(item.pk) == "done"
    task = VideoTask.objects.get(pk=task.pk)
    assert task.status == Status.PUBLISHED
    assert task.video.youtube_video_id == next(iter(fake_youtube.videos))
    assert fake_youtube.inserts == 1 and fake_youtube.session_starts == 1


@pytest.mark.django_db(transaction=True)
def test_reconcilers_racing_on_one_unknown_upload_settle_it_once(fake_youtube, broker, task):
    from core.models import AuditLog
    from tests.concurrency import errors_in, race

    fake_youtube.hang_after_last_chunk = True
    fake_youtube.unanswerable_status_queries = True
    services.step_run(task.pk, "upload")
    item = WorkItem.objects.get(task=task, step="upload")
    assert units.unit_run(item.pk) == "failed"
    fake_youtube.hang_after_last_chunk = False
    fake_youtube.unanswerable_status_queries = False
    upload = Upload.objects.get(task=task)

    def unknown_again(_):
        Upload.objects.filter(pk=upload.pk).update(video_id="", state=UploadState.UNKNOWN)

    results = race(
        lambda _: youtube_reconcile.upload_reconcile(upload), rounds=10, before_round=unknown_again
    )

    assert errors_in(results) == []
    video_id = next(iter(fake_youtube.videos))
    assert all(outcome == [video_id] * 4 for outcome in results)
    assert AuditLog.objects.filter(task=task, action="upload_reconciled").count() == 10
    assert fake_youtube.inserts == 1
