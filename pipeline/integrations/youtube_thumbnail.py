"""The video's thumbnail (thumbnails.set), best effort: the video is already on YouTube, so a
thumbnail that cannot be made or sent warns, saying why, and the upload goes on. What is sent is
always a JPEG within YouTube's 2 MB (youtube_metadata.thumbnail_image checks it)."""

import http.client

import httplib2
from django.utils import timezone
from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as GoogleTransportError
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaFileUpload

from core.alerts import alert_send
from costs.quota import QuotaUnavailable, quota_record_exceeded, quota_reserve
from pipeline.integrations.youtube_client import api_error_reason, endpoint_url
from pipeline.integrations.youtube_metadata import ThumbnailUnusable, thumbnail_image
from pipeline.models import Upload

TRANSPORT_ERRORS = (OSError, httplib2.HttpLib2Error, http.client.HTTPException)


def thumbnail_set(task, upload, client):
    if upload.thumbnail_set:
        return
    try:
        image = thumbnail_image(task)
        quota_reserve(upload.quota_project, "thumbnails.set", now=timezone.now())
        media = MediaFileUpload(str(image), mimetype="image/jpeg")
        request = client.api.thumbnails().set(videoId=upload.video_id, media_body=media)
        request.uri = endpoint_url(request.uri)
        request.execute()
    except ThumbnailUnusable as unusable:
        return _thumbnail_warn(task, f"no image YouTube would take: {unusable}")
    except QuotaUnavailable as unavailable:
        return _thumbnail_warn(task, f"no quota left ({unavailable})")
    except HttpError as error:
        reason, message = api_error_reason(error.content)
        if reason == "quotaExceeded":
            quota_record_exceeded(upload.quota_project, now=timezone.now())
        return _thumbnail_warn(
            task, f"thumbnails.set: YouTube answered {error.resp.status} {reason} {message}"
        )
    except (*TRANSPORT_ERRORS, RefreshError, GoogleTransportError) as error:
        return _thumbnail_warn(task, f"thumbnails.set: {type(error).__name__}: {error}")
    Upload.objects.filter(pk=upload.pk).update(thumbnail_set=True)
    upload.thumbnail_set = True


def _thumbnail_warn(task, cause):
    alert_send(
        level="WARNING",
        title=f"{task.channel_id}: thumbnail not set for '{task.title[:80]}'",
        message=f"The video is uploaded but its thumbnail was not set: {cause}. Set it in "
        "YouTube Studio.",
        key=f"youtube-thumbnail:{task.pk}",
    )
