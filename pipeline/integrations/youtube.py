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

Modules: the row and its lease in youtube_row.py; the resumable protocol in youtube_session.py;
finding a video by its marker in youtube_find.py; reconciliation and settling by hand in
youtube_reconcile.py; the thumbnail in youtube_thumbnail.py.
"""

import json

from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as GoogleTransportError

from core.media_store import media_key, media_store
from pipeline import paths
from pipeline.integrations.youtube_captions import caption_send
from pipeline.integrations.youtube_client import YouTube, auth_failed
from pipeline.integrations.youtube_row import (
    WATCH_URL,
    upload_claim,
    upload_release,
    upload_row_get,
)
from pipeline.integrations.youtube_session import upload_send
from pipeline.integrations.youtube_thumbnail import thumbnail_set
from pipeline.models import Video
from pipeline.runner import Outcome
from pipeline.steps import upload_provider_register
from pipeline.unit_spec import UnitError, UnitSpec
from pipeline.workers import worker_identity


def receipt_path(task):
    """Written once the video is on YouTube: the unit's output (the pipeline skips a unit whose
    output exists, so it must not be the final video, which exists before the upload)."""
    return paths.project_dir(task.channel_id, str(task.pk)) / "youtube.json"


def upload_unit(task):
    return UnitSpec(
        unit="video", output=receipt_path(task), provider="youtube", function=upload_video
    )


upload_provider_register("youtube", upload_unit)


def upload_video(task):
    """Upload the task's final video (resuming its session if one exists), set the thumbnail,
    and return {"outputs": [url], "usage": {"youtube_video_id": id}}."""
    channel = task.channel
    upload = upload_row_get(task)
    if not (upload.video_id and upload.thumbnail_set):
        owner = _owner()
        upload = upload_claim(upload, owner)
        client = None
        try:
            client = YouTube.for_channel(channel)
            if not upload.video_id:
                try:
                    upload_send(task, upload, client, owner)
                except RefreshError as error:
                    raise auth_failed(channel, error, task=task) from None
                except GoogleTransportError as error:
                    raise UnitError(
                        f"upload of task {task.pk}: could not reach Google to refresh the "
                        f"OAuth token ({error}); retried later",
                        outcome=Outcome.TEMPORARY,
                    ) from None
            thumbnail_set(task, upload, client)
            caption_send(task, upload, client)  # best effort: retried by beat, never fails it
        finally:
            upload_release(upload.pk, owner)
            if client is not None:
                client.save_refreshed_token()
    return _finish(task, upload)


def _owner():
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
    media_store().put_bytes(media_key(receipt_path(task)), json.dumps(receipt, indent=2).encode())
    return {"outputs": [url], "usage": {"youtube_video_id": upload.video_id}}
