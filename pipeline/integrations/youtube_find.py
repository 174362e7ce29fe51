"""Finding our video on the channel when its upload session can no longer say whether it
completed (it expired: 404). The video carries a marker tag (youtube_metadata.marker_tag); the
newest entries of the channel's uploads playlist are checked for it:

    channels.list part=contentDetails mine=true  -> relatedPlaylists.uploads    1 unit
    playlistItems.list part=contentDetails        -> the 50 newest video ids     1 unit
    videos.list part=snippet id=...               -> their tags                  1 unit

Three units of the shared bucket, each reserved in the quota ledger before the call (no quota:
the upload waits for the reset, like any other call).
"""

import structlog
from django.utils import timezone
from googleapiclient.errors import HttpError

from costs.quota import QuotaUnavailable, quota_reserve
from pipeline.integrations.youtube_client import api_error_reason, endpoint_url
from pipeline.integrations.youtube_metadata import marker_tag
from pipeline.runner import Outcome
from pipeline.unit_spec import UnitDeferred, UnitError

log = structlog.get_logger(__name__)

RECENT_UPLOADS = 50  # playlistItems.list's maximum page: our video is among the newest


def _call(client, upload, method, request):
    try:
        quota_reserve(upload.quota_project, method, now=timezone.now())
    except QuotaUnavailable as unavailable:
        raise UnitDeferred("quota", until=unavailable.until) from None
    request.uri = endpoint_url(request.uri)
    try:
        return request.execute()
    except HttpError as error:
        reason, message = api_error_reason(error.content)
        raise UnitError(
            f"upload of task {upload.task_id}: looking for the video on the channel, {method} "
            f"answered {error.resp.status} {reason} {message}; retried later",
            outcome=Outcome.TEMPORARY,
        ) from None


def video_find_by_marker(*, client, upload):
    """The id of the channel's video tagged with this upload's marker, or None when the newest
    uploads of the channel do not hold it."""
    api, wanted = client.api, marker_tag(upload.marker)
    channels = _call(
        client, upload, "channels.list", api.channels().list(part="contentDetails", mine=True)
    )
    items = channels.get("items") or []
    playlist = (
        items[0].get("contentDetails", {}).get("relatedPlaylists", {}).get("uploads")
        if items
        else None
    )
    if not playlist:
        raise UnitError(
            f"upload of task {upload.task_id}: the authorized account has no YouTube channel "
            "with an uploads playlist; check the channel's credentials",
            outcome=Outcome.AUTH,
        )
    listed = _call(
        client,
        upload,
        "playlistItems.list",
        api.playlistItems().list(
            part="contentDetails", playlistId=playlist, maxResults=RECENT_UPLOADS
        ),
    )
    ids = [item["contentDetails"]["videoId"] for item in listed.get("items", [])]
    if not ids:
        return None
    videos = _call(
        client, upload, "videos.list", api.videos().list(part="snippet", id=",".join(ids))
    )
    for video in videos.get("items", []):
        if wanted in (video.get("snippet", {}).get("tags") or []):
            log.info("youtube_video_found_by_marker", video_id=video["id"])
            return video["id"]
    return None
