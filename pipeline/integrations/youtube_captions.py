"""The video's caption track on YouTube (captions.insert), best effort once the video is up.

The SRT written when the cut was made (pipeline/captions.py) is sent as a multipart upload with
snippet.videoId, snippet.language (the storyboard's, else the channel's) and snippet.name. The
call costs 400 units, reserved in the quota ledger before it is made, like every other call.

A caption never fails a published video: when it cannot be sent (no quota left, YouTube refuses,
the network fails) the Upload row keeps the reason and when to try again, a WARNING alert says so,
and the beat entry `youtube-captions-retry` (captions_retry_due) sends it later. The upload
finishes either way. Each retry claims the row with a conditional UPDATE of its retry time, so
two beat runs never send the same track twice. After CAPTION_MAX_ATTEMPTS the alert is an ERROR
and nothing is retried: the SRT is in the project folder for YouTube Studio."""

import datetime as dt
import http.client
import io

import httplib2
import structlog
from django.db.models import F
from django.utils import timezone
from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as GoogleTransportError
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from core.alerts import alert_send
from core.media_store import MediaStoreError, media_text
from costs.quota import QuotaUnavailable, quota_record_exceeded, quota_reserve
from pipeline import paths
from pipeline.captions import captions_language, captions_write
from pipeline.cut import cut_load
from pipeline.integrations.youtube_client import YouTube, api_error_reason, endpoint_url
from pipeline.models import Upload

log = structlog.get_logger(__name__)

TRANSPORT_ERRORS = (OSError, httplib2.HttpLib2Error, http.client.HTTPException)
CAPTION_NAME = ""  # YouTube shows an unnamed track by its language alone
CAPTION_MAX_ATTEMPTS = 6
CAPTION_RETRY_BASE = dt.timedelta(minutes=10)
CAPTION_CLAIM = dt.timedelta(minutes=15)  # a claimed retry not finished by then is retried


class CaptionNotSent(Exception):
    def __init__(self, cause, *, retry_at=None):
        super().__init__(cause)
        self.cause, self.retry_at = cause, retry_at


def caption_file(task):
    """The SRT's text to send (from the media store), written from the cut when it is missing;
    None when there is nothing to caption (no narration)."""
    srt = paths.captions(task.channel_id, str(task.pk), "srt")
    text = media_text(srt)
    if text is None:
        cut = cut_load(task)
        if cut is None or not captions_write(task, cut):
            return None
        text = media_text(srt)
    return text or None


def caption_body(task, video_id):
    return {
        "snippet": {
            "videoId": video_id,
            "language": captions_language(task),
            "name": CAPTION_NAME,
            "isDraft": False,
        }
    }


def _insert(task, upload, client, srt):
    try:
        quota_reserve(upload.quota_project, "captions.insert", now=timezone.now())
    except QuotaUnavailable as unavailable:
        raise CaptionNotSent(f"no quota left ({unavailable})", retry_at=unavailable.until) from None
    media = MediaIoBaseUpload(
        io.BytesIO(srt.encode("utf-8")), mimetype="application/octet-stream", resumable=False
    )
    request = client.api.captions().insert(
        part="snippet", body=caption_body(task, upload.video_id), media_body=media
    )
    request.uri = endpoint_url(request.uri)
    try:
        return request.execute()
    except HttpError as error:
        reason, message = api_error_reason(error.content)
        if reason == "quotaExceeded":
            until = quota_record_exceeded(upload.quota_project, now=timezone.now())
            raise CaptionNotSent("YouTube answered quotaExceeded", retry_at=until) from None
        raise CaptionNotSent(
            f"captions.insert: YouTube answered {error.resp.status} {reason} {message}".strip()
        ) from None
    except (*TRANSPORT_ERRORS, RefreshError, GoogleTransportError) as error:
        raise CaptionNotSent(f"captions.insert: {type(error).__name__}: {error}") from None


def caption_send(task, upload, client):
    """Send the task's caption track unless it was sent; never raises for a caption problem.
    Returns True when the track is on YouTube."""
    if upload.caption_id:
        return True
    try:
        srt = caption_file(task)
    except (OSError, MediaStoreError) as error:
        return _failed(task, upload, CaptionNotSent(f"the captions could not be written: {error}"))
    if srt is None:
        return False  # nothing is spoken: no track to send
    try:
        response = _insert(task, upload, client, srt)
    except CaptionNotSent as failure:
        return _failed(task, upload, failure)
    caption_id = (response or {}).get("id") or "sent"
    Upload.objects.filter(pk=upload.pk).update(
        caption_id=caption_id, caption_error="", caption_retry_at=None
    )
    upload.caption_id = caption_id
    log.info("youtube_caption_sent", caption_id=caption_id, language=captions_language(task))
    return True


def _failed(task, upload, failure):
    attempts = upload.caption_attempts + 1
    give_up = attempts >= CAPTION_MAX_ATTEMPTS
    retry_at = None
    if not give_up:
        retry_at = failure.retry_at or timezone.now() + CAPTION_RETRY_BASE * 2 ** (attempts - 1)
    Upload.objects.filter(pk=upload.pk).update(
        caption_attempts=F("caption_attempts") + 1,
        caption_error=failure.cause[:2000],
        caption_retry_at=retry_at,
    )
    upload.caption_attempts, upload.caption_error = attempts, failure.cause
    upload.caption_retry_at = retry_at
    when = f"it is tried again after {retry_at:%Y-%m-%d %H:%M} UTC" if retry_at else (
        f"it was tried {attempts} times and is not tried again: upload "
        f"{paths.captions(task.channel_id, str(task.pk), 'srt').name} from the project folder "
        "in YouTube Studio"
    )
    alert_send(
        level="ERROR" if give_up else "WARNING",
        title=f"{task.channel_id}: captions not sent for '{task.title[:80]}'",
        message=f"The video is published; its caption track was not sent: {failure.cause}. {when}.",
        key=f"youtube-captions:{task.pk}:{'final' if give_up else 'retry'}",
        fields={"task": str(task.pk)},
    )
    log.warning("youtube_caption_failed", cause=failure.cause, attempts=attempts)
    return False


def captions_retry_due(*, now=None, limit=20):
    """The beat entry: send the caption tracks whose retry time has come. Returns the number
    sent."""
    now = now or timezone.now()
    due = list(
        Upload.objects.filter(caption_id="", caption_retry_at__lte=now)
        .exclude(video_id="")
        .select_related("task", "task__channel")
        .order_by("caption_retry_at")[:limit]
    )
    sent = 0
    for upload in due:
        # The claim: whoever moves the retry time first sends it; the other run skips it.
        claimed = Upload.objects.filter(
            pk=upload.pk, caption_id="", caption_retry_at=upload.caption_retry_at
        ).update(caption_retry_at=now + CAPTION_CLAIM)
        if not claimed:
            continue
        task = upload.task
        try:
            client = YouTube.for_channel(task.channel)
        except Exception as error:  # noqa: BLE001 - any credential problem is this caption's
            _failed(task, upload, CaptionNotSent(f"no YouTube client: {error}"))
            continue
        try:
            sent += caption_send(task, upload, client)
        finally:
            client.save_refreshed_token()
    return sent
