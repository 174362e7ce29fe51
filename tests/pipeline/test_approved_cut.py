"""The approval covers one file: the SHA-256 of the cut the reviewer saw is recorded with it, the
upload sends only that file, and what was sent is recorded beside the video id."""

import pytest

from core.models import Alert, AuditLog
from pipeline import paths
from pipeline.models import Upload
from pipeline.services import video_task_create
from pipeline.status import Status
from pipeline.upload_guard import file_sha256
from reviews.decisions import review_approve
from reviews.models import Review
from tests.factories import reviewer_user
from tests.pipeline.conftest import wait_for
from tests.pipeline.test_pipeline_worker import describe, status_of, storyboard

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _at_final_review(worker, channel):
    worker.start()
    task = video_task_create(channel=channel, storyboard=storyboard(1))
    wait_for(lambda: status_of(task) == Status.FINAL_REVIEW, timeout=90,
             describe=lambda: describe(task, worker))  # fmt: skip
    return task


def test_the_approved_cut_is_uploaded_and_its_fingerprint_recorded_with_the_video(
    pipeline_env, worker, local_channel
):
    task = _at_final_review(worker, local_channel)
    seen = file_sha256(paths.final_video(local_channel.id, str(task.pk)))

    review_approve(task_id=task.pk, reviewer=reviewer_user("alice"), notes="good")

    wait_for(lambda: status_of(task) == Status.PUBLISHED, timeout=60,
             describe=lambda: describe(task, worker))  # fmt: skip
    assert Review.objects.get(task=task).cut_sha256 == seen
    assert AuditLog.objects.get(task=task, action="review_approved").metadata["cut_sha256"] == seen
    upload = Upload.objects.get(task=task)
    assert (upload.sha256, upload.video_id != "") == (seen, True)


def test_a_final_file_changed_after_approval_is_not_uploaded(pipeline_env, worker, local_channel):
    task = _at_final_review(worker, local_channel)
    worker.stop()  # so the replacement lands between the approval and the upload
    review_approve(task_id=task.pk, reviewer=reviewer_user("alice"), notes="good")
    approved = Review.objects.get(task=task).cut_sha256
    final = paths.final_video(local_channel.id, str(task.pk))
    with open(final, "ab") as cut:
        cut.write(b"\0" * 64)  # no longer the bytes the reviewer saw

    worker.start()
    wait_for(lambda: status_of(task) == Status.UPLOAD_ERROR, timeout=60,
             describe=lambda: describe(task, worker))  # fmt: skip

    task.refresh_from_db()
    assert "is not the cut alice approved" in task.error_log
    assert approved[:12] in task.error_log
    assert not (paths.published_dir(local_channel.id) / f"{task.pk}.mp4").exists()
    assert Alert.objects.filter(level="ERROR", title__contains="stopped in upload").exists()
