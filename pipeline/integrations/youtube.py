"""The YouTube upload provider (step 8). The client and credentials: youtube_client.py; the
metadata, publish slot and thumbnail: youtube_metadata.py; the OAuth setup: youtube_oauth.py.

videos.insert has no idempotency key, so the Upload row (one per task) is the guard against a
second video:
- the row is claimed with a lease (conditional UPDATE) before anything is sent;
- a row with a video id is never uploaded again;
- the resumable session URI is saved before the first byte, and bytes confirmed after each chunk,
  so any process can resume the same session after a crash: it asks the server how much arrived
  (`PUT` with `Content-Range: bytes */total`) and continues from there. A session produces at most
  one video however often it is resumed; only a new session could make a second one;
- the video id is saved the moment a response carries it;
- when the connection fails after the last chunk was sent (reset, timeout), the session is
  asked at once what arrived (Google's guidance): done -> the video id; bytes missing -> resume.
  Only a session that cannot be asked makes the row UNKNOWN (CRITICAL alert, audit row); the task
  stops in upload_error, and reconciliation (youtube_reconcile.py) or a person
  (`manage.py settle_upload`) settles it. Nothing re-inserts it blindly;
- a session that expired (404) when its last chunk may have completed: the video is looked for
  on the channel by its marker tag (youtube_find.py). Found: recorded and published. Not found:
  a new session. An expired session whose last chunk never left cannot have made a video: a new
  session at once;
- uploadLimitExceeded (the channel's own daily upload limit) holds that channel's uploads for 24
  hours (costs.quota.upload_limit_record); quotaExceeded holds the project's until the reset.

The resumable protocol is spoken here on the SDK's authorized transport rather than through
MediaFileUpload.next_chunk: the SDK sends the first chunk in the same call that opens the session
(no moment to save the URI in between) and keeps its resume state in private attributes.
"""

import datetime as dt
import http.client
import json
import os
import time

import httplib2
import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as GoogleTransportError
from googleapiclient.http import MediaFileUpload

from channels_app.models import Channel
from costs.quota import (
    QuotaUnavailable,
    quota_record_exceeded,
    quota_reserve,
    upload_limit_record,
    upload_limit_until,
)
from pipeline import paths
from pipeline.alerts import alert_send
from pipeline.integrations.youtube_client import (
    YouTube,
    api_error_reason,
    auth_failed,
    endpoint_url,
)
from pipeline.integrations.youtube_find import video_find_by_marker
from pipeline.integrations.youtube_metadata import (
    PUBLISH_LEAD,
    marker_tag,
    publish_slot,
    video_metadata,
)
from pipeline.integrations.youtube_thumbnail import thumbnail_set
from pipeline.models import Upload, UploadState, Video, WorkItem, WorkState
from pipeline.runner import Outcome
from pipeline.steps import UnitDeferred, UnitError, UnitSpec
from reviews.services import audit_log_record

log = structlog.get_logger(__name__)

WATCH_URL = "https://www.youtube.com/watch?v={}"
UPLOADER = "youtube-uploader"  # the actor of audit rows written by the uploader
PART = "snippet,status"
CHUNK_RETRIES = 5  # failed chunks in a row before the attempt gives up (the session is kept)
CHUNK_RETRY_BASE_SECONDS = 1.0
STATUS_QUERY_TRIES = 3  # status queries after the last chunk's answer was lost, before UNKNOWN
TRANSPORT_ERRORS = (OSError, httplib2.HttpLib2Error, http.client.HTTPException)


def _now():
    return timezone.now()


def _lease():
    return dt.timedelta(seconds=settings.PIPELINE_LEASE_SECONDS)


def _api_failure(status, content, *, what, project, channel=None):
    """An HTTP error answer from YouTube as an exception the pipeline understands."""
    reason, message = api_error_reason(content)
    if status == 403 and reason in {"quotaExceeded", "dailyLimitExceeded"}:
        until = quota_record_exceeded(project, now=_now())
        return UnitDeferred("quota", until=until)
    if reason == "uploadLimitExceeded" and channel is not None:
        until = upload_limit_record(channel, now=_now())
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
    fresh = upload.publish_at is None or upload.publish_at >= _now() + PUBLISH_LEAD
    if upload.request_body and fresh:
        return upload.request_body
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=task.channel_id)
        taken = set(
            Upload.objects.filter(task__channel=channel, publish_at__isnull=False)
            .exclude(pk=upload.pk)
            .exclude(state=UploadState.FAILED)
            .values_list("publish_at", flat=True)
        )
        publish_at = publish_slot(channel, now=_now(), taken=taken)
        body = video_metadata(task, marker=upload.marker, publish_at=publish_at)
        Upload.objects.filter(pk=upload.pk).update(request_body=body, publish_at=publish_at)
    upload.request_body, upload.publish_at = body, publish_at
    return body


# --- The upload unit -----------------------------------------------------------------------------


def receipt_path(task):
    """Written once the video is on YouTube: the unit's output (the pipeline skips a unit whose
    output exists, so it must not be the final video, which exists before the upload)."""
    return paths.project_dir(task.channel_id, str(task.pk)) / "youtube.json"


def upload_unit(task):
    return UnitSpec(
        unit="video", output=receipt_path(task), provider="youtube", function=upload_video
    )


def _upload_row(task):
    upload, _ = Upload.objects.get_or_create(
        task=task, defaults={"quota_project": task.channel.quota_project or "default"}
    )
    return upload


def _upload_claim(upload, owner):
    """Take the upload for this execution, or raise: another live execution holds it."""
    now = _now()
    free = Q(lease_owner="") | Q(lease_expires_at__lt=now) | Q(lease_owner=owner)
    claimed = Upload.objects.filter(free, pk=upload.pk).update(
        lease_owner=owner, lease_expires_at=now + _lease(), attempts=F("attempts") + 1
    )
    upload.refresh_from_db()
    if claimed != 1:
        raise UnitError(
            f"upload of task {upload.task_id}: another worker is uploading it (lease until "
            f"{upload.lease_expires_at:%H:%M:%S} UTC); this attempt retries later",
            outcome=Outcome.TEMPORARY,
        )
    return upload


def _upload_release(upload_id, owner):
    Upload.objects.filter(pk=upload_id, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None
    )


def _progress_save(upload, owner, **fields):
    """Save progress under our lease and renew it (and the work item's: an in-process unit has no
    script heartbeat). A lost lease stops this execution before it sends another byte."""
    until = _now() + _lease()
    saved = Upload.objects.filter(pk=upload.pk, lease_owner=owner).update(
        lease_expires_at=until, **fields
    )
    if saved != 1:
        raise UnitError(
            f"upload of task {upload.task_id}: the lease was lost to another worker; this "
            "execution stops and the other one continues the same session",
            outcome=Outcome.TEMPORARY,
        )
    WorkItem.objects.filter(
        task_id=upload.task_id, step="upload", unit="video", state=WorkState.RUNNING
    ).update(lease_expires_at=until)
    for name, value in fields.items():
        setattr(upload, name, value)


def _video_saved(task, upload, video_id):
    """The video exists: record it before anything else can go wrong."""
    url = WATCH_URL.format(video_id)
    with transaction.atomic():
        Upload.objects.filter(pk=upload.pk).update(
            video_id=video_id, state=UploadState.DONE, bytes_confirmed=upload.total_bytes, error=""
        )
        Video.objects.filter(task_id=task.pk).update(youtube_video_id=video_id, youtube_url=url)
    upload.refresh_from_db()
    log.info("youtube_video_created", video_id=video_id)


def upload_video(task):
    """Upload the task's final video (resuming its session if one exists), set the thumbnail,
    and return {"outputs": [url], "usage": {"youtube_video_id": id}}."""
    channel = task.channel
    upload = _upload_row(task)
    if not (upload.video_id and upload.thumbnail_set):
        owner = _owner()
        upload = _upload_claim(upload, owner)
        client = None
        try:
            client = YouTube.for_channel(channel)
            if not upload.video_id:
                try:
                    _upload_send(task, upload, client, owner)
                except RefreshError as error:
                    raise auth_failed(channel, error, task=task) from None
                except GoogleTransportError as error:
                    raise UnitError(
                        f"upload of task {task.pk}: could not reach Google to refresh the "
                        f"OAuth token ({error}); retried later",
                        outcome=Outcome.TEMPORARY,
                    ) from None
            thumbnail_set(task, upload, client)
        finally:
            _upload_release(upload.pk, owner)
            if client is not None:
                client.save_refreshed_token()
    return _finish(task, upload)


def _owner():
    from pipeline.services import worker_identity

    return worker_identity()


def _finish(task, upload):
    url = WATCH_URL.format(upload.video_id)
    Video.objects.filter(task_id=task.pk).update(youtube_video_id=upload.video_id, youtube_url=url)
    receipt = {
        "task_id": str(task.pk),
        "youtube_video_id": upload.video_id,
        "youtube_url": url,
        "publish_at": upload.publish_at.isoformat() if upload.publish_at else None,
        "thumbnail_set": upload.thumbnail_set,
    }
    path = receipt_path(task)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(receipt, indent=2))
    os.replace(temporary, path)
    return {"outputs": [url], "usage": {"youtube_video_id": upload.video_id}}


def _upload_send(task, upload, client, owner):
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
    held = upload_limit_until(task.channel, now=_now())
    if held:
        raise UnitDeferred("channel upload limit", until=held)
    try:
        quota_reserve(upload.quota_project, "videos.insert", now=_now())
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
    _progress_save(
        upload,
        owner,
        session_uri=response["location"],
        session_started_at=_now(),
        total_bytes=total,
        bytes_confirmed=0,
        state=UploadState.UPLOADING,
        error="",
    )
    log.info("youtube_session_started", bytes=total)


def _session_query(http, upload, total):
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
        answer, value = _session_query(http, upload, total)
    except TRANSPORT_ERRORS as error:
        raise UnitError(
            f"upload of task {task.pk}: could not ask YouTube how much of the upload arrived "
            f"({error}); retried later, resuming the same session",
            outcome=Outcome.TEMPORARY,
        ) from None
    if answer == "done":
        _video_saved(task, upload, value["id"])
        return None
    if answer == "incomplete":
        _progress_save(upload, owner, bytes_confirmed=value, state=UploadState.UPLOADING)
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
    _progress_save(upload, owner, session_uri="", bytes_confirmed=0, state=UploadState.PENDING)
    log.warning("youtube_session_expired", status=status)
    return 0


def session_gone_settle(task, upload, client, *, status):
    """The session whose last chunk may have completed answers `status` (404: expired). Look
    for the video by its marker: found -> saved (True); not found -> False, audited, and the
    caller opens a new session."""
    video_id = video_find_by_marker(client=client, upload=upload)
    metadata = {"session_status": status, "marker": str(upload.marker)}
    if video_id:
        _video_saved(task, upload, video_id)
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
                    answer, value = _session_query(http, upload, total)
                except TRANSPORT_ERRORS:
                    continue  # counted; try the same chunk again
                if answer == "gone":
                    continue
            if answer == "done":
                _video_saved(task, upload, value["id"])
                return
            if answer == "incomplete":
                if value > offset:
                    failures = 0
                offset = value
                _progress_save(upload, owner, bytes_confirmed=offset)


def _last_chunk_status(task, upload, http, total, cause):
    """The last chunk left and no answer came back: ask the session at once (a few tries).
    Only a session that cannot be asked is UNKNOWN."""
    for attempt in range(STATUS_QUERY_TRIES):
        if attempt:
            time.sleep(CHUNK_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
        try:
            answer, value = _session_query(http, upload, total)
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
