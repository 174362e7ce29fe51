"""Settling uploads whose outcome is unknown (youtube.py: the last chunk left, no answer came and
the session could not be asked). Never a blind second insert:
- reconciliation (beat) asks the same session: done -> the video id; bytes missing -> resumable;
  expired (404) -> the video is looked for on the channel by its marker tag: found -> recorded,
  not found -> a new session on the next attempt;
- a person settles it by hand: `manage.py settle_upload TASK --video-id ID | --not-uploaded`,
  with an audit row.
A settled upload whose task stopped in upload_error is sent back to the upload step, which
publishes the known video (or uploads) without a second insert of the same bytes."""

import re

import structlog
from django.db import transaction
from google.auth.exceptions import RefreshError

from core.audit import audit_log_record
from pipeline.integrations.youtube_client import YouTube
from pipeline.integrations.youtube_row import UPLOADER, video_saved
from pipeline.integrations.youtube_session import (
    TRANSPORT_ERRORS,
    session_gone_settle,
    session_query,
)
from pipeline.models import Upload, UploadState
from pipeline.unit_spec import UnitDeferred, UnitError

log = structlog.get_logger(__name__)

VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")


class UploadSettleError(Exception):
    """A settle request that cannot be carried out; the message says why."""


def upload_reconcile(upload):
    """Settle an upload whose outcome is unknown; returns the video id when known (saved)."""
    upload = Upload.objects.select_related("task__channel").get(pk=upload.pk)
    if upload.video_id or not upload.session_uri:
        return upload.video_id or None
    task = upload.task
    client = YouTube.for_channel(task.channel)
    try:
        return _reconcile(task, upload, client)
    finally:
        client.save_refreshed_token()


def _reconcile(task, upload, client):
    try:
        answer, value = session_query(client.http, upload, upload.total_bytes)
    except TRANSPORT_ERRORS as error:
        log.warning("youtube_reconcile_unreachable", error=str(error))
        return None
    if answer == "done":
        if not video_saved(task, upload, value["id"]):
            return upload.video_id  # settled by another execution, which wrote the audit row
        audit_log_record(
            actor=UPLOADER,
            action="upload_reconciled",
            task=task,
            metadata={"youtube_video_id": value["id"]},
            object_type="upload",
            object_id=upload.pk,
        )
        return value["id"]
    if upload.state != UploadState.UNKNOWN:
        return None
    if answer == "incomplete":
        Upload.objects.filter(pk=upload.pk, state=UploadState.UNKNOWN).update(
            state=UploadState.UPLOADING, bytes_confirmed=value
        )
        audit_log_record(
            actor=UPLOADER,
            action="upload_reconciled",
            task=task,
            notes=f"the session holds {value} of {upload.total_bytes} bytes: resumable",
            object_type="upload",
            object_id=upload.pk,
        )
        return None
    status = value[0]
    if status >= 500 or status == 429:
        return None  # asked again on the next round
    if session_gone_settle(task, upload, client, status=status):
        return upload.video_id
    Upload.objects.filter(pk=upload.pk, state=UploadState.UNKNOWN).update(
        state=UploadState.PENDING, session_uri="", bytes_confirmed=0, error=""
    )
    return None


def uploads_reconcile():
    """Beat: settle uploads in UNKNOWN; a settled one is sent back to the upload step."""
    settled = []
    for upload in Upload.objects.filter(state=UploadState.UNKNOWN).select_related("task"):
        try:
            upload_reconcile(upload)
        except (UnitError, UnitDeferred, RefreshError) as error:
            log.warning("youtube_reconcile_failed", upload=upload.pk, error=str(error)[:300])
            continue
        upload.refresh_from_db()
        if upload.state != UploadState.UNKNOWN and _retry(upload.task_id):
            settled.append(upload.task_id)
    return settled


def _retry(task_id):
    """Send the task back to the upload step if it stopped in upload_error."""
    from pipeline.services import PipelineError
    from pipeline.status import Status
    from pipeline.task_actions import task_retry

    if not Upload.objects.filter(task_id=task_id, task__status=Status.UPLOAD_ERROR).exists():
        return False
    try:
        task_retry(task_id=task_id, actor="youtube-reconcile")
    except PipelineError:
        return False
    return True


def upload_settle(*, task_id, actor, video_id=None, not_uploaded=False):
    """A person settles an upload whose outcome is unknown: the video exists (`video_id`, found
    on the channel) or it does not (`not_uploaded`: the next attempt opens a new session)."""
    if bool(video_id) == bool(not_uploaded):
        raise UploadSettleError("give --video-id ID or --not-uploaded (exactly one of them)")
    if video_id and not VIDEO_ID.fullmatch(video_id):
        raise UploadSettleError(
            f"{video_id!r} is not a YouTube video id (11 letters, digits, '-' or '_', as in "
            "https://www.youtube.com/watch?v=ID)"
        )
    with transaction.atomic():
        upload = (
            Upload.objects.select_for_update()
            .select_related("task")
            .filter(task_id=task_id)
            .first()
        )
        if upload is None:
            raise UploadSettleError(f"task {task_id} has no upload to settle")
        if upload.state != UploadState.UNKNOWN:
            raise UploadSettleError(
                f"the upload of task {task_id} is {upload.state}, not unknown: nothing to settle"
            )
        if video_id:
            video_saved(upload.task, upload, video_id)
            notes = f"settled by hand: the video is {video_id}"
        else:
            Upload.objects.filter(pk=upload.pk).update(
                state=UploadState.PENDING, session_uri="", bytes_confirmed=0, error=""
            )
            notes = "settled by hand: not uploaded; the next attempt opens a new session"
        audit_log_record(
            actor=actor,
            action="upload_settled",
            task=upload.task,
            notes=notes,
            metadata={"youtube_video_id": video_id or None},
            object_type="upload",
            object_id=upload.pk,
        )
    retried = _retry(task_id)
    return notes + ("; the task is back in the upload step" if retried else "")
