"""The YouTube upload provider (step 8) and the channel OAuth setup behind it.

videos.insert has no idempotency key, so the Upload row (one per task) is the guard against a
second video:
- the row is claimed with a lease (conditional UPDATE) before anything is sent;
- a row with a video id is never uploaded again;
- the resumable session URI is saved before the first byte, and bytes confirmed after each chunk,
  so any process can resume the same session after a crash: it asks the server how much arrived
  (`PUT` with `Content-Range: bytes */total`) and continues from there. A session produces at most
  one video however often it is resumed; only a new session could make a second one;
- the video id is saved the moment a response carries it;
- when the connection fails after the last chunk was sent, nobody can know whether the video
  exists: the row goes to UNKNOWN (CRITICAL alert, audit row), the task stops in upload_error, and
  only reconciliation (a status query on the same session) settles it. Nothing re-inserts it.

The resumable protocol is spoken here on the SDK's authorized transport rather than through
MediaFileUpload.next_chunk: the SDK sends the first chunk in the same call that opens the session
(no moment to save the URI in between) and keeps its resume state in private attributes.
"""

import datetime as dt
import http.client
import json
import os
import shutil
import subprocess
import time
import urllib.parse
from zoneinfo import ZoneInfo

import google_auth_httplib2
import httplib2
import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as GoogleTransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaFileUpload

from channels_app.config import WEEKDAYS
from channels_app.models import Channel, Schedule, SecretName
from channels_app.services import channel_secret_get, channel_secret_set
from costs.quota import QuotaUnavailable, quota_record_exceeded, quota_reserve
from pipeline import paths
from pipeline.alerts import alert_send
from pipeline.models import Upload, UploadState, Video, WorkItem, WorkState
from pipeline.runner import Outcome
from pipeline.steps import UnitDeferred, UnitError, UnitSpec
from reviews.services import audit_log_record

log = structlog.get_logger(__name__)

SCOPES = [
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
]
WATCH_URL = "https://www.youtube.com/watch?v={}"
UPLOADER = "youtube-uploader"  # the actor of audit rows written by the uploader
PART = "snippet,status"
CHUNK_RETRIES = 5  # failed chunks in a row before the attempt gives up (the session is kept)
CHUNK_RETRY_BASE_SECONDS = 1.0
PUBLISH_LEAD = dt.timedelta(minutes=30)  # publishAt must lie in the future once processing ends
TAGS_MAX_CHARS = 500
THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
TRANSPORT_ERRORS = (OSError, httplib2.HttpLib2Error, http.client.HTTPException)


def _now():
    return timezone.now()


def _lease():
    return dt.timedelta(seconds=settings.PIPELINE_LEASE_SECONDS)


# --- Credentials and the client ------------------------------------------------------------------


def _transport():
    """The HTTP transport under every YouTube call (tests swap it to fake the token endpoint)."""
    return httplib2.Http(timeout=settings.YOUTUBE_HTTP_TIMEOUT_SECONDS)


def _setup_hint(channel):
    return f"run `manage.py setup_channel_oauth {channel.pk} --client-secrets FILE` again"


def channel_credentials(channel):
    """The channel's stored OAuth credentials (google.oauth2.credentials.Credentials)."""
    stored = channel_secret_get(channel=channel, name=SecretName.YOUTUBE_OAUTH)
    if not stored:
        raise UnitError(
            f"channel {channel.pk}: no YouTube credentials stored; {_setup_hint(channel)}",
            outcome=Outcome.CONFIG,
        )
    try:
        return Credentials.from_authorized_user_info(json.loads(stored))
    except (ValueError, KeyError, TypeError):
        # The message names the problem, never the value.
        raise UnitError(
            f"channel {channel.pk}: the stored YouTube credentials are not valid OAuth JSON; "
            f"{_setup_hint(channel)}",
            outcome=Outcome.CONFIG,
        ) from None


class YouTube:
    """A YouTube Data API v3 client and the authorized transport under it (the resumable protocol
    is spoken on the same transport, so it refreshes the token the same way)."""

    def __init__(self, credentials):
        transport = _transport()
        # 308 means "resume incomplete" here, not a redirect (googleapiclient's build_http too).
        transport.redirect_codes = transport.redirect_codes - {308}
        self.http = google_auth_httplib2.AuthorizedHttp(credentials, http=transport)
        options = {"api_endpoint": settings.YOUTUBE_API_BASE} if settings.YOUTUBE_API_BASE else None
        # The discovery document bundled with the library: building needs no network.
        self.api = build(
            "youtube",
            "v3",
            http=self.http,
            client_options=options,
            static_discovery=True,
            cache_discovery=False,
        )


def _endpoint_url(url):
    """The SDK replaces only the host of media upload URLs with api_endpoint's and keeps https;
    point the whole URL (scheme too) at YOUTUBE_API_BASE."""
    if not settings.YOUTUBE_API_BASE:
        return url
    base = urllib.parse.urlsplit(settings.YOUTUBE_API_BASE)
    return urllib.parse.urlunsplit(
        urllib.parse.urlsplit(url)._replace(scheme=base.scheme, netloc=base.netloc)
    )


def _auth_failed(channel, error, *, task=None):
    """Consent revoked or refresh token expired: nothing will work until a person re-authorizes."""
    detail = str(error.args[0] if error.args else error).split(":")[0][:100]
    message = (
        f"channel {channel.pk}: YouTube refused to refresh the OAuth token ({detail}); the "
        f"consent was revoked or has expired. {_setup_hint(channel)}"
    )
    alert_send(
        level="ERROR",
        title=f"{channel.pk}: YouTube authorization needed",
        message=message,
        key=f"youtube-auth:{channel.pk}",
        fields={"task": str(task.pk)} if task else None,
    )
    return UnitError(message, outcome=Outcome.AUTH)


def _error_reason(content):
    """(reason, message) of a Google API error body."""
    try:
        error = json.loads(content or b"{}").get("error", {})
        reasons = [item.get("reason", "") for item in error.get("errors", [])]
        return (reasons[0] if reasons else error.get("status", "")), error.get("message", "")
    except (ValueError, AttributeError):
        return "", (content or b"")[:200].decode(errors="replace")


def _api_failure(status, content, *, what, project):
    """An HTTP error answer from YouTube as an exception the pipeline understands."""
    reason, message = _error_reason(content)
    if status == 403 and reason in {"quotaExceeded", "dailyLimitExceeded"}:
        until = quota_record_exceeded(project, now=_now())
        return UnitDeferred("quota", until=until)
    text = f"{what}: YouTube answered {status} {reason or ''} {message}".strip()
    if status in (408, 429) or status >= 500:
        return UnitError(f"{text}; retried later", outcome=Outcome.TEMPORARY)
    if status in (401, 403):
        return UnitError(f"{text}; check the channel's permissions", outcome=Outcome.AUTH)
    return UnitError(text, outcome=Outcome.PERMANENT)


# --- Metadata and scheduling ---------------------------------------------------------------------


def marker_tag(marker):
    """The tag that identifies our video on the channel (reconciliation looks for it)."""
    return f"videogen-{marker.hex}"


def _tags_within_limit(tags, marker):
    """YouTube counts a tag with a space as quoted (+2); keep the marker, drop trailing tags."""

    def size(items):
        return sum(len(tag) + (2 if " " in tag else 0) for tag in items) + max(len(items) - 1, 0)

    kept = list(dict.fromkeys(tags))
    while kept and size([*kept, marker]) > TAGS_MAX_CHARS:
        kept.pop()
    return [*kept, marker]


def video_metadata(task, *, marker, publish_at=None):
    """The videos.insert body: snippet from the storyboard and channel, status with the channel's
    privacy (private with publishAt when scheduled), made-for-kids flag and the AI disclosure."""
    storyboard, channel = task.storyboard, task.channel
    tags = storyboard.get("tags") or channel.tags or []
    status = {
        "privacyStatus": "private" if publish_at else channel.privacy,
        "selfDeclaredMadeForKids": bool(channel.made_for_kids),
        "containsSyntheticMedia": True,
    }
    if publish_at:
        status["publishAt"] = publish_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "snippet": {
            "title": storyboard["title"][:100],
            "description": storyboard.get("description", ""),
            "tags": _tags_within_limit(tags, marker_tag(marker)),
            "categoryId": channel.category_id,
            "defaultLanguage": channel.default_language,
        },
        "status": status,
    }


def publish_slot(channel, *, now, taken=()):
    """When the channel's schedule publishes a video approved at `now`: None for manual (publish
    on upload), else the first daily/weekly slot at publish_time in the channel's timezone at
    least PUBLISH_LEAD ahead and not already taken by another of its videos."""
    if channel.schedule == Schedule.MANUAL:
        return None
    if channel.publish_time is None:
        raise UnitError(
            f"channel_configs/{channel.pk}.yaml: publish_time: is required when schedule is "
            f"{channel.schedule}; set it and run `manage.py sync_channels`",
            outcome=Outcome.CONFIG,
        )
    zone = ZoneInfo(channel.timezone or "UTC")
    earliest = now + PUBLISH_LEAD
    first_day = earliest.astimezone(zone).date()
    days = set(channel.publish_days or []) if channel.schedule == Schedule.WEEKLY else None
    for offset in range(0, 366 * 2):
        day = first_day + dt.timedelta(days=offset)
        if days is not None and WEEKDAYS[day.weekday()] not in days:
            continue
        slot = dt.datetime.combine(day, channel.publish_time, tzinfo=zone).astimezone(dt.UTC)
        if slot >= earliest and slot not in taken:
            return slot
    raise UnitError(
        f"channel_configs/{channel.pk}.yaml: no publish slot in two years (publish_days empty?)",
        outcome=Outcome.CONFIG,
    )


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
        try:
            client = YouTube(channel_credentials(channel))
            if not upload.video_id:
                try:
                    _upload_send(task, upload, client, owner)
                except RefreshError as error:
                    raise _auth_failed(channel, error, task=task) from None
                except GoogleTransportError as error:
                    raise UnitError(
                        f"upload of task {task.pk}: could not reach Google to refresh the "
                        f"OAuth token ({error}); retried later",
                        outcome=Outcome.TEMPORARY,
                    ) from None
            _thumbnail_set(task, upload, client)
        finally:
            _upload_release(upload.pk, owner)
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
        offset = _session_resume(task, upload, client.http, owner, total)
        if offset is None:
            return  # the session had completed: the video id is saved
    if not upload.session_uri:
        _session_start(task, upload, client, owner, source, total)
        offset = 0
    _chunks_send(task, upload, client.http, owner, source, total, offset)


def _session_start(task, upload, client, owner, source, total):
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
            _endpoint_url(request.uri), "POST", body=request.body, headers=headers
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


def _session_resume(task, upload, http, owner, total):
    """Continue a saved session: returns the offset to send from, None when the session had
    completed (the video id is then saved), and resets the row when a session that cannot have
    completed has expired (0 returned with no session: a new one is opened)."""
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
        _outcome_unknown(task, upload, f"the session answered {status} to a status query")
    # The last chunk never left, so this expired session cannot have made a video: start over.
    _progress_save(upload, owner, session_uri="", bytes_confirmed=0, state=UploadState.PENDING)
    log.warning("youtube_session_expired", status=status)
    return 0


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
                if end == total - 1:
                    _outcome_unknown(task, upload, f"{type(error).__name__}: {error}")
                answer, value = "failed", f"{type(error).__name__}: {error}"
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


def _outcome_unknown(task, upload, cause):
    """The last chunk left and no answer came back: the video may exist. Never insert again."""
    channel = task.channel
    message = (
        f"upload of task {task.pk} ('{task.title}'): the connection failed after the last chunk "
        f"was sent ({cause}); YouTube may or may not have created the video. It will not be "
        "uploaded again automatically: reconciliation asks the same upload session; to check by "
        f"hand, look on YouTube channel {channel.youtube_channel_id or channel.pk} for a video "
        f"tagged {marker_tag(upload.marker)}."
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


# --- Reconciliation ------------------------------------------------------------------------------


def upload_reconcile(upload):
    """Settle an upload whose outcome is unknown by asking its session; never inserts.

    Returns the video id when the session had completed (saved), else None. A session that says
    bytes are still missing cannot have made a video: the row goes back to UPLOADING so the next
    attempt resumes the same session."""
    upload = Upload.objects.select_related("task__channel").get(pk=upload.pk)
    if upload.video_id or not upload.session_uri:
        return upload.video_id or None
    task = upload.task
    client = YouTube(channel_credentials(task.channel))
    try:
        answer, value = _session_query(client.http, upload, upload.total_bytes)
    except TRANSPORT_ERRORS as error:
        log.warning("youtube_reconcile_unreachable", error=str(error))
        return None
    if answer == "done":
        _video_saved(task, upload, value["id"])
        audit_log_record(
            actor=UPLOADER,
            action="upload_reconciled",
            task=task,
            metadata={"youtube_video_id": value["id"]},
            object_type="upload",
            object_id=upload.pk,
        )
        return value["id"]
    if answer == "incomplete" and upload.state == UploadState.UNKNOWN:
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


def uploads_reconcile():
    """Beat: settle uploads in UNKNOWN; a settled one is sent back to the upload step, which
    publishes the known video (or resumes the same session) without a second insert."""
    from pipeline.services import PipelineError, task_retry
    from pipeline.status import Status

    settled = []
    for upload in Upload.objects.filter(state=UploadState.UNKNOWN).select_related("task"):
        try:
            upload_reconcile(upload)
        except (UnitError, RefreshError) as error:
            log.warning("youtube_reconcile_failed", upload=upload.pk, error=str(error)[:300])
            continue
        upload.refresh_from_db()
        if upload.state != UploadState.UNKNOWN and upload.task.status == Status.UPLOAD_ERROR:
            try:
                task_retry(task_id=upload.task_id, actor="youtube-reconcile")
            except PipelineError:
                continue
            settled.append(upload.task_id)
    return settled


# --- Thumbnails ----------------------------------------------------------------------------------


def _ffmpeg():
    configured = os.environ.get("FFMPEG_BINARY", "").strip()
    if configured:
        return configured
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def thumbnail_image(task):
    """A JPEG under 2 MB for thumbnails.set: the storyboard's `thumbnail` (an asset id, or a
    scene id meaning that scene's composite), else a frame a third into the final video."""
    from PIL import Image

    from pipeline.media import media_duration

    channel_id, task_id = task.channel_id, str(task.pk)
    target = paths.project_dir(channel_id, task_id) / "thumbnail.jpg"
    named = task.storyboard.get("thumbnail")
    asset_ids = {asset["id"] for asset in task.storyboard.get("assets", [])}
    if named:
        step = "assets" if named in asset_ids else "composites"
        source = paths.unit_output(channel_id, task_id, step, named)
        with Image.open(source) as image:
            image = image.convert("RGB")
            image.thumbnail((1280, 720))
            for quality in (90, 80, 70, 60):
                image.save(target, "JPEG", quality=quality)
                if target.stat().st_size <= THUMBNAIL_MAX_BYTES:
                    break
        return target
    video = paths.final_video(channel_id, task_id)
    seconds = (media_duration(video) or 0) / 3
    subprocess.run(  # noqa: S603 - fixed arguments, paths from pipeline.paths
        [_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{seconds:.2f}",
         "-i", str(video), "-frames:v", "1", "-vf", "scale='min(1280,iw)':-2", "-q:v", "3",
         str(target)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return target


def _thumbnail_set(task, upload, client):
    """Best effort: the video is already published; a failed thumbnail warns and moves on."""
    if upload.thumbnail_set:
        return
    try:
        image = thumbnail_image(task)
        quota_reserve(upload.quota_project, "thumbnails.set", now=_now())
        media = MediaFileUpload(str(image), mimetype="image/jpeg")
        request = client.api.thumbnails().set(videoId=upload.video_id, media_body=media)
        request.uri = _endpoint_url(request.uri)
        request.execute()
    except QuotaUnavailable as unavailable:
        return _thumbnail_warn(task, f"no quota left ({unavailable})")
    except HttpError as error:
        reason, message = _error_reason(error.content)
        if reason == "quotaExceeded":
            quota_record_exceeded(upload.quota_project, now=_now())
        return _thumbnail_warn(task, f"YouTube answered {error.resp.status} {reason} {message}")
    except (
        *TRANSPORT_ERRORS,
        subprocess.SubprocessError,
        RefreshError,
        GoogleTransportError,
    ) as error:
        return _thumbnail_warn(task, f"{type(error).__name__}: {error}")
    Upload.objects.filter(pk=upload.pk).update(thumbnail_set=True)
    upload.thumbnail_set = True


def _thumbnail_warn(task, cause):
    alert_send(
        level="WARNING",
        title=f"{task.channel_id}: thumbnail not set for '{task.title}'",
        message=f"The video is uploaded but thumbnails.set failed: {cause}. Set it in YouTube "
        "Studio.",
        key=f"youtube-thumbnail:{task.pk}",
    )


# --- OAuth setup ---------------------------------------------------------------------------------


class OAuthSetupError(Exception):
    """The consent was given for the wrong channel, or the channel could not be checked."""


def oauth_channel_check(channel, credentials):
    """The YouTube channel the credentials belong to, refused unless it is the channel's."""
    client = YouTube(credentials)
    try:
        quota_reserve(channel.quota_project, "channels.list", now=_now())
        answer = client.api.channels().list(part="id,snippet", mine=True).execute()
    except QuotaUnavailable as unavailable:
        raise OAuthSetupError(f"cannot check the channel now: {unavailable}") from None
    except HttpError as error:
        reason, message = _error_reason(error.content)
        raise OAuthSetupError(
            f"channels.list failed: YouTube answered {error.resp.status} {reason} {message}"
        ) from None
    items = answer.get("items") or []
    if not items:
        raise OAuthSetupError(
            "the Google account you signed in with has no YouTube channel; nothing was stored. "
            "Sign in with the account (or brand account) that owns the channel."
        )
    found = items[0]["id"]
    title = items[0].get("snippet", {}).get("title", "")
    if not channel.youtube_channel_id:
        raise OAuthSetupError(
            f"channel_configs/{channel.pk}.yaml: youtube_channel_id is not set, so the consent "
            f"cannot be checked; nothing was stored. The account you signed in with owns "
            f"{found} ('{title}'): if that is right, set youtube_channel_id: {found}, run "
            "`manage.py sync_channels`, then this command again."
        )
    if found != channel.youtube_channel_id:
        raise OAuthSetupError(
            f"the consent was given for YouTube channel {found} ('{title}'), but "
            f"channel_configs/{channel.pk}.yaml names {channel.youtube_channel_id}; nothing was "
            "stored. Run the command again and pick the right channel (or brand account) on "
            "Google's consent screen."
        )
    return found, title


def channel_oauth_store(*, channel, credentials, actor):
    """Check the credentials' channel, then store them encrypted (never printed or logged)."""
    found, title = oauth_channel_check(channel, credentials)
    with transaction.atomic():
        channel_secret_set(
            channel=channel,
            name=SecretName.YOUTUBE_OAUTH,
            value=credentials.to_json(),
            actor=actor,
        )
        audit_log_record(
            actor=actor,
            action="youtube_oauth_setup",
            object_type="channel",
            object_id=channel.pk,
            metadata={"youtube_channel_id": found, "scopes": list(credentials.scopes or [])},
        )
    return found, title
