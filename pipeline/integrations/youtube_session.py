"""The resumable upload protocol of one Upload row (youtube.py says what it guarantees): open a
session (URI saved before the first byte), send chunks, resume a saved session, ask it what
arrived when an answer is lost, settle an expired one by the video's marker, or declare the
outcome unknown.

Spoken on the SDK's authorized transport rather than through MediaFileUpload.next_chunk: the SDK
sends the first chunk in the same call that opens the session (no moment to save the URI in
between) and keeps its resume state in private attributes."""

import http.client
import json
import time

import httplib2
import structlog
from django.conf import settings
from django.db import transaction
from googleapiclient.http import MediaFileUpload

from channels_app.models import Channel
from core.alerts import alert_send
from core.audit import audit_log_record
from costs.quota import (
    QuotaUnavailable,
    quota_record_exceeded,
    quota_reserve,
    upload_limit_record,
    upload_limit_until,
)
from pipeline import paths
from pipeline.integrations import youtube_row
from pipeline.integrations.youtube_client import api_error_reason, endpoint_url
from pipeline.integrations.youtube_find import video_find_by_marker
from pipeline.integrations.youtube_metadata import (
    PUBLISH_LEAD,
    marker_tag,
    publish_slot,
    publish_slots_taken,
    video_metadata,
    video_metadata_check,
)
from pipeline.integrations.youtube_row import UPLOADER, progress_save
from pipeline.models import Upload, UploadState
from pipeline.runner import Outcome
from pipeline.unit_spec import UnitDeferred, UnitError

log = structlog.get_logger(__name__)

PART = "snippet,status"
CHUNK_RETRIES = 5  # failed chunks in a row before the attempt gives up (the session is kept)
CHUNK_RETRY_BASE_SECONDS = 1.0
STATUS_QUERY_TRIES = 3  # status queries after the last chunk's answer was lost, before UNKNOWN
TRANSPORT_ERRORS = (OSError, httplib2.HttpLib2Error, http.client.HTTPException)


def _api_failure(status, content, *, what, project, channel=None):
    """An HTTP error answer from YouTube as an exception the pipeline understands."""
    reason, message = api_error_reason(content)
    if status == 403 and reason in {"quotaExceeded", "dailyLimitExceeded"}:
        until = quota_record_exceeded(project, now=youtube_row.now())
        return UnitDeferred("quota", until=until)
    if reason == "uploadLimitExceeded" and channel is not None:
        until = upload_limit_record(channel, now=youtube_row.now())
        return UnitDeferred("channel upload limit", until=until)
    text = f"{what}: YouTube answered {status} {reason or ''} {message}".strip()
    if status in (408, 429) or status >= 500:
        return UnitError(f"{text}; retried later", outcome=Outcome.TEMPORARY)
    if status in (401, 403):
        return UnitError(f"{text}; check the channel's permissions", outcome=Outcome.AUTH)
    return UnitError(text, outcome=Outcome.PERMANENT)


def _request_body(task, upload):
    """The body sent when a session opens. Kept for a retry (same metadata, same slot) unless its
    slot is too close by now (e.g. the upload waited for quota). Slots are chosen under the
    channel's row lock, so two uploads of a channel do not take the same one."""
    fresh = upload.publish_at is None or upload.publish_at >= youtube_row.now() + PUBLISH_LEAD
    if upload.request_body and fresh:
        return upload.request_body
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=task.channel_id)
        taken = publish_slots_taken(channel, exclude_task_id=task.pk)
        publish_at = publish_slot(channel, now=youtube_row.now(), taken=taken)
        body = video_metadata(task, marker=upload.marker, publish_at=publish_at)
        Upload.objects.filter(pk=upload.pk).update(request_body=body, publish_at=publish_at)
    upload.request_body, upload.publish_at = body, publish_at
    return body


def upload_send(task, upload, client, owner):
    source = paths.final_video(task.channel_id, str(task.pk))
    if not source.is_file():
        raise UnitError(
            f"upload of task {task.pk}: {source} is missing; run the assembly step again "
            f"(`manage.py task_retry {task.pk}` after resetting it)",
            outcome=Outcome.PERMANENT,
        )
    total = source.stat().st_size
    offset = 0
    if upload.session_uri:
        offset = _session_resume(task, upload, client, owner, total)
        if offset is None:
            return  # the session had completed: the video id is saved
    if not upload.session_uri:
        _session_start(task, upload, client, owner, source, total)
        offset = 0
    _chunks_send(task, upload, client.http, owner, source, total, offset)


def _session_start(task, upload, client, owner, source, total):
    video_metadata_check(task)  # before any quota is spent
    held = upload_limit_until(task.channel, now=youtube_row.now())
    if held:
        raise UnitDeferred("channel upload limit", until=held)
    try:
        quota_reserve(upload.quota_project, "videos.insert", now=youtube_row.now())
    except QuotaUnavailable as unavailable:
        raise UnitDeferred("quota", until=unavailable.until) from None
    body = _request_body(task, upload)
    media = MediaFileUpload(str(source), mimetype="video/mp4", resumable=True)
    request = client.api.videos().insert(part=PART, body=body, media_body=media)
    headers = {
        **request.headers,
        "X-Upload-Content-Type": "video/mp4",
        "X-Upload-Content-Length": str(total),
    }
    try:
        response, content = client.http.request(
            endpoint_url(request.uri), "POST", body=request.body, headers=headers
        )
    except TRANSPORT_ERRORS as error:
        # No bytes were sent: a session without bytes never becomes a video.
        raise UnitError(
            f"upload of task {task.pk}: could not open an upload session ({error}); retried later",
            outcome=Outcome.TEMPORARY,
        ) from None
    if response.status != 200 or "location" not in response:
        raise _api_failure(
            response.status,
            content,
            what=f"upload of task {task.pk}: opening the session",
            project=upload.quota_project,
            channel=task.channel,
        )
    # Saved before the first byte: from here on, every process resumes this session.
    progress_save(
        upload,
        owner,
        session_uri=response["location"],
        session_started_at=youtube_row.now(),
        total_bytes=total,
        bytes_confirmed=0,
        state=UploadState.UPLOADING,
        error="",
    )
    log.info("youtube_session_started", bytes=total)


def session_query(http, upload, total):
    """Ask the session how much arrived: ("done", video) | ("incomplete", next offset) |
    ("gone", status). Transport errors propagate."""
    response, content = http.request(
        upload.session_uri,
        "PUT",
        body=b"",
        headers={"Content-Range": f"bytes */{total}", "Content-Length": "0"},
    )
    return _chunk_answer(response, content)


def _chunk_answer(response, content):
    if response.status in (200, 201):
        return "done", json.loads(content)
    if response.status == 308:
        # "Range: bytes=0-N" means N+1 bytes arrived; no Range means nothing did.
        received = response.get("range", "")
        return "incomplete", int(received.rsplit("-", 1)[1]) + 1 if received else 0
    return "gone", (response.status, content)


def _final_chunk_may_have_left(upload):
    return upload.total_bytes - upload.bytes_confirmed <= settings.YOUTUBE_UPLOAD_CHUNK_BYTES


def _session_resume(task, upload, client, owner, total):
    """Continue a saved session: returns the offset to send from, None when the session had
    completed (the video id is then saved), and resets the row when an expired session did not
    make a video (0 returned with no session: a new one is opened)."""
    http = client.http
    if upload.total_bytes and upload.total_bytes != total:
        raise UnitError(
            f"upload of task {task.pk}: {paths.final_video(task.channel_id, str(task.pk))} "
            f"changed size during the upload ({upload.total_bytes} -> {total} bytes)",
            outcome=Outcome.PERMANENT,
        )
    try:
        answer, value = session_query(http, upload, total)
    except TRANSPORT_ERRORS as error:
        raise UnitError(
            f"upload of task {task.pk}: could not ask YouTube how much of the upload arrived "
            f"({error}); retried later, resuming the same session",
            outcome=Outcome.TEMPORARY,
        ) from None
    if answer == "done":
        youtube_row.video_saved(task, upload, value["id"])
        return None
    if answer == "incomplete":
        progress_save(upload, owner, bytes_confirmed=value, state=UploadState.UPLOADING)
        log.info("youtube_session_resumed", offset=value)
        return value
    status, content = value
    if status >= 500 or status == 429:
        raise _api_failure(
            status, content, what=f"upload of task {task.pk}: status query", project=""
        )
    if upload.state == UploadState.UNKNOWN or _final_chunk_may_have_left(upload):
        if session_gone_settle(task, upload, client, status=status):
            return None
    # No video was made (the last chunk never left, or the channel has no video with our
    # marker): start over with a new session.
    progress_save(upload, owner, session_uri="", bytes_confirmed=0, state=UploadState.PENDING)
    log.warning("youtube_session_expired", status=status)
    return 0


def session_gone_settle(task, upload, client, *, status):
    """The session whose last chunk may have completed answers `status` (404: expired). Look
    for the video by its marker: found -> saved (True); not found -> False, audited, and the
    caller opens a new session."""
    video_id = video_find_by_marker(client=client, upload=upload)
    metadata = {"session_status": status, "marker": str(upload.marker)}
    if video_id:
        youtube_row.video_saved(task, upload, video_id)
        audit_log_record(
            actor=UPLOADER,
            action="upload_found_by_marker",
            task=task,
            notes=f"the upload session answered {status}; the channel has video {video_id} "
            f"tagged {marker_tag(upload.marker)}",
            metadata={**metadata, "youtube_video_id": video_id},
            object_type="upload",
            object_id=upload.pk,
        )
        return True
    audit_log_record(
        actor=UPLOADER,
        action="upload_not_found_by_marker",
        task=task,
        notes=f"the upload session answered {status} and the channel's newest uploads have no "
        f"video tagged {marker_tag(upload.marker)}: a new session is opened",
        metadata=metadata,
        object_type="upload",
        object_id=upload.pk,
    )
    return False


def _chunks_send(task, upload, http, owner, source, total, offset):
    chunk_size = settings.YOUTUBE_UPLOAD_CHUNK_BYTES
    failures = 0
    with open(source, "rb") as file:
        while True:
            file.seek(offset)
            data = file.read(chunk_size)
            end = offset + len(data) - 1
            headers = {"Content-Range": f"bytes {offset}-{end}/{total}"}
            try:
                response, content = http.request(
                    upload.session_uri, "PUT", body=data, headers=headers
                )
                answer, value = _chunk_answer(response, content)
            except TRANSPORT_ERRORS as error:
                cause = f"{type(error).__name__}: {error}"
                if end == total - 1:
                    answer, value = _last_chunk_status(task, upload, http, total, cause)
                else:
                    answer, value = "failed", cause
            if answer == "gone" and value[0] in (404, 410):
                raise UnitError(
                    f"upload of task {task.pk}: the upload session expired at byte {offset}; "
                    "the next attempt checks it and opens a new one only if it cannot have "
                    "completed",
                    outcome=Outcome.TEMPORARY,
                )
            if answer == "gone" and value[0] < 500 and value[0] != 429:
                raise _api_failure(
                    value[0],
                    value[1],
                    what=f"upload of task {task.pk}: bytes {offset}-{end}",
                    project=upload.quota_project,
                )
            if answer in ("gone", "failed"):
                failures += 1
                cause = value if answer == "failed" else f"HTTP {value[0]}"
                log.warning("youtube_chunk_failed", offset=offset, failures=failures, cause=cause)
                if failures > CHUNK_RETRIES:
                    raise UnitError(
                        f"upload of task {task.pk}: {failures} chunks failed in a row at byte "
                        f"{offset} of {total}; retried later, resuming the same session",
                        outcome=Outcome.TEMPORARY,
                    )
                time.sleep(CHUNK_RETRY_BASE_SECONDS * 2 ** (failures - 1))
                try:
                    answer, value = session_query(http, upload, total)
                except TRANSPORT_ERRORS:
                    continue  # counted; try the same chunk again
                if answer == "gone":
                    continue
            if answer == "done":
                youtube_row.video_saved(task, upload, value["id"])
                return
            if answer == "incomplete":
                if value > offset:
                    failures = 0
                offset = value
                progress_save(upload, owner, bytes_confirmed=offset)


def _last_chunk_status(task, upload, http, total, cause):
    """The last chunk left and no answer came back: ask the session at once (a few tries).
    Only a session that cannot be asked is UNKNOWN."""
    for attempt in range(STATUS_QUERY_TRIES):
        if attempt:
            time.sleep(CHUNK_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
        try:
            answer, value = session_query(http, upload, total)
        except TRANSPORT_ERRORS as error:
            cause = f"{cause}; status query: {type(error).__name__}: {error}"
            continue
        if answer == "gone" and (value[0] >= 500 or value[0] == 429):
            cause = f"{cause}; status query: HTTP {value[0]}"
            continue
        log.info("youtube_last_chunk_settled", answer=answer)
        return answer, value
    _outcome_unknown(task, upload, cause)


def _outcome_unknown(task, upload, cause):
    """The last chunk left and no answer came back: the video may exist. Never insert again."""
    channel = task.channel
    message = (
        f"upload of task {task.pk} ('{task.title[:80]}'): the connection failed after the last "
        f"chunk was sent and the upload session could not be asked ({cause}); YouTube may or may "
        "not have created the video. It will not be uploaded again automatically: "
        "reconciliation asks the same session, or looks for the video by its marker once the "
        f"session has expired. To settle it by hand, look on YouTube channel "
        f"{channel.youtube_channel_id or channel.pk} for a video tagged "
        f"{marker_tag(upload.marker)}, then run `manage.py settle_upload {task.pk} --video-id ID` "
        "or `--not-uploaded`."
    )
    Upload.objects.filter(pk=upload.pk).update(state=UploadState.UNKNOWN, error=message)
    upload.state = UploadState.UNKNOWN
    audit_log_record(
        actor=UPLOADER,
        action="upload_outcome_unknown",
        task=task,
        notes=message,
        metadata={"marker": str(upload.marker), "total_bytes": upload.total_bytes},
        object_type="upload",
        object_id=upload.pk,
    )
    alert_send(
        level="CRITICAL",
        title=f"{channel.pk}: upload outcome unknown for '{task.title}'",
        message=message,
        key=f"upload-unknown:{upload.pk}",
        fields={"task": str(task.pk)},
    )
    raise UnitError(message, outcome=Outcome.PERMANENT)
