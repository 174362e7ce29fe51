"""The upload against YouTube as Google documents it: 201 for the final chunk, a status query at
once when the last chunk's answer is lost, expired sessions, the channel's own upload limit,
refreshed tokens kept, thumbnails within YouTube's limits."""

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from channels_app.models import SecretName
from channels_app.services import channel_secret_get, channel_secret_set
from core.models import Alert, AuditLog
from costs.models import YouTubeQuotaUsage
from pipeline import paths
from pipeline.integrations import youtube, youtube_metadata, youtube_reconcile
from pipeline.models import Upload, UploadState
from pipeline.unit_spec import UnitDeferred, UnitError
from tests.fakes import youtube as fake_module
from tests.fakes.youtube import credentials_json
from tests.youtube.conftest import ready_task, youtube_channel

pytestmark = pytest.mark.django_db


def _unknown(fake_youtube, task):
    """The last chunk's answer is lost and the session cannot be asked: UNKNOWN."""
    fake_youtube.hang_after_last_chunk = True
    fake_youtube.unanswerable_status_queries = True
    with pytest.raises(UnitError):
        youtube.upload_video(task)
    fake_youtube.hang_after_last_chunk = False
    fake_youtube.unanswerable_status_queries = False
    upload = Upload.objects.get(task=task)
    assert upload.state == UploadState.UNKNOWN
    return upload


@pytest.mark.parametrize("final_status", [201, 200])
def test_the_final_chunk_answered_201_created_or_200_completes_the_upload(
    fake_youtube, task, final_status
):
    fake_youtube.final_status = final_status

    youtube.upload_video(task)

    upload = Upload.objects.get(task=task)
    assert upload.state == UploadState.DONE and upload.video_id in fake_youtube.videos
    assert fake_youtube.status_queries == 0


def test_a_connection_reset_on_the_last_chunk_is_settled_by_a_status_query_at_once(
    fake_youtube, task
):
    fake_youtube.drop_after_chunk = 7  # the last chunk arrives, its answer is lost

    youtube.upload_video(task)

    upload = Upload.objects.get(task=task)
    assert upload.state == UploadState.DONE and upload.video_id in fake_youtube.videos
    assert fake_youtube.status_queries == 1 and fake_youtube.session_starts == 1
    assert not Alert.objects.filter(level="CRITICAL").exists()
    assert not AuditLog.objects.filter(action="upload_outcome_unknown").exists()


def test_a_timeout_on_the_last_chunk_is_settled_by_a_status_query_at_once(fake_youtube, task):
    fake_youtube.hang_after_last_chunk = True

    youtube.upload_video(task)

    assert Upload.objects.get(task=task).state == UploadState.DONE
    assert fake_youtube.inserts == 1 and fake_youtube.status_queries == 1


def test_only_an_unanswerable_session_is_unknown_with_a_critical_alert(fake_youtube, task):
    upload = _unknown(fake_youtube, task)

    assert fake_youtube.status_queries >= 1
    assert Alert.objects.filter(level="CRITICAL", key=f"upload-unknown:{upload.pk}").exists()


def test_an_expired_session_whose_last_chunk_may_have_completed_finds_the_video_by_its_marker(
    fake_youtube, task
):
    upload = _unknown(fake_youtube, task)
    fake_youtube.expire_sessions()  # the session answers 404; the video YouTube made is there
    units_before = YouTubeQuotaUsage.objects.get().units_used

    youtube.upload_video(task)  # the retry after reconciliation, or a second worker

    upload.refresh_from_db()
    assert upload.state == UploadState.DONE
    assert upload.video_id == next(iter(fake_youtube.videos))
    assert fake_youtube.session_starts == 1 and fake_youtube.inserts == 1
    assert fake_youtube.api_calls == {"channels.list": 1, "playlistItems.list": 1, "videos.list": 1}
    # Three units of the shared bucket, counted in the ledger (plus the thumbnail's 50).
    assert YouTubeQuotaUsage.objects.get().units_used == units_before + 3 + 50
    assert AuditLog.objects.filter(action="upload_found_by_marker", task=task).exists()


def test_the_reconciler_finds_a_video_whose_session_expired(fake_youtube, task):
    upload = _unknown(fake_youtube, task)
    fake_youtube.expire_sessions()

    assert youtube_reconcile.upload_reconcile(upload) == next(iter(fake_youtube.videos))
    assert Upload.objects.get(pk=upload.pk).state == UploadState.DONE


def test_an_expired_session_whose_video_is_not_on_the_channel_opens_a_new_session(
    fake_youtube, task
):
    upload = _unknown(fake_youtube, task)
    fake_youtube.expire_sessions()
    fake_youtube.videos.clear()  # YouTube never made it

    youtube.upload_video(task)

    upload.refresh_from_db()
    assert upload.state == UploadState.DONE and fake_youtube.inserts == 1
    assert fake_youtube.session_starts == 2
    assert AuditLog.objects.filter(action="upload_not_found_by_marker", task=task).exists()


def test_settle_upload_records_a_video_found_by_hand(fake_youtube, task):
    upload = _unknown(fake_youtube, task)

    call_command("settle_upload", str(task.pk), video_id="AbCdEfGhIjK", actor="alice")

    upload.refresh_from_db()
    assert upload.state == UploadState.DONE and upload.video_id == "AbCdEfGhIjK"
    entry = AuditLog.objects.get(action="upload_settled", task=task)
    assert entry.actor == "alice" and entry.metadata == {"youtube_video_id": "AbCdEfGhIjK"}


def test_settle_upload_not_uploaded_lets_the_next_attempt_open_a_new_session(fake_youtube, task):
    upload = _unknown(fake_youtube, task)
    fake_youtube.videos.clear()

    call_command("settle_upload", str(task.pk), not_uploaded=True)

    upload.refresh_from_db()
    assert upload.state == UploadState.PENDING and upload.session_uri == ""
    assert AuditLog.objects.get(action="upload_settled", task=task).metadata == {
        "youtube_video_id": None
    }
    youtube.upload_video(task)
    assert fake_youtube.session_starts == 2 and fake_youtube.inserts == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "give --video-id ID or --not-uploaded"),
        ({"video_id": "x", "not_uploaded": True}, "give --video-id ID or --not-uploaded"),
        ({"video_id": "not a video id!"}, "is not a YouTube video id"),
    ],
)
def test_settle_upload_refuses_bad_arguments(fake_youtube, task, arguments, message):
    _unknown(fake_youtube, task)
    with pytest.raises(CommandError, match=message):
        call_command("settle_upload", str(task.pk), **arguments)


def test_settle_upload_refuses_an_upload_whose_outcome_is_known(fake_youtube, task):
    youtube.upload_video(task)
    with pytest.raises(CommandError, match="not unknown"):
        call_command("settle_upload", str(task.pk), not_uploaded=True)


def test_the_channels_upload_limit_holds_that_channel_only_for_24_hours(
    fake_youtube, task, workspace, sample_video
):
    fake_youtube.upload_limit_exceeded = True
    refused_at = timezone.now()

    with pytest.raises(UnitDeferred) as deferred:
        youtube.upload_video(task)

    until = deferred.value.until
    assert dt.timedelta(hours=24) <= until - refused_at < dt.timedelta(hours=24, minutes=1)
    alert = Alert.objects.get(level="WARNING", key=f"youtube-upload-limit:{task.channel_id}")
    assert f"{until:%Y-%m-%d %H:%M} UTC" in alert.message
    # Another video of the same channel waits without asking YouTube.
    requests = len(fake_youtube.requests)
    second = ready_task(task.channel, sample_video)
    with pytest.raises(UnitDeferred) as held:
        youtube.upload_video(second)
    assert held.value.until == until and len(fake_youtube.requests) == requests
    # Another channel is not held (YouTube's limit is the channel's, not the project's).
    fake_youtube.upload_limit_exceeded = False
    other = ready_task(youtube_channel(id="otherchannel"), sample_video)
    youtube.upload_video(other)
    assert Upload.objects.get(task=other).state == UploadState.DONE


def test_a_refreshed_access_token_is_written_back_to_the_channels_credential(
    fake_youtube, channel, workspace, sample_video
):
    channel_secret_set(
        channel=channel,
        name=SecretName.YOUTUBE_OAUTH,
        value=credentials_json(expiry="2020-01-01T00:00:00Z"),
        actor="test",
    )
    first = ready_task(channel, sample_video)

    youtube.upload_video(first)

    assert fake_youtube.token_refreshes == 1
    stored = json.loads(channel_secret_get(channel=channel, name=SecretName.YOUTUBE_OAUTH))
    assert stored["token"] == "fake-access-token-1"
    assert stored["refresh_token"] and stored["expiry"] > "2026"
    youtube.upload_video(ready_task(channel, sample_video))
    assert fake_youtube.token_refreshes == 1  # the next client used the saved token


@pytest.fixture
def small_limit(monkeypatch):
    """A 30 KB thumbnail limit at both ends: the sample video's frames are ~45 KB as JPEG."""
    monkeypatch.setattr(youtube_metadata, "THUMBNAIL_MAX_BYTES", 30_000)
    monkeypatch.setattr(fake_module, "THUMBNAIL_MAX_BYTES", 30_000)


def test_a_frame_thumbnail_over_the_limit_is_re_encoded_until_it_fits(
    fake_youtube, task, small_limit
):
    youtube.upload_video(task)

    upload = Upload.objects.get(task=task)
    sent = fake_youtube.thumbnails[upload.video_id]
    assert upload.thumbnail_set and sent[:3] == b"\xff\xd8\xff" and len(sent) <= 30_000


def test_a_thumbnail_that_cannot_fit_is_not_sent_and_the_alert_says_why(
    fake_youtube, task, monkeypatch
):
    monkeypatch.setattr(youtube_metadata, "THUMBNAIL_MAX_BYTES", 1_000)

    youtube.upload_video(task)

    assert fake_youtube.thumbnails == {}
    alert = Alert.objects.get(level="WARNING", key=f"youtube-thumbnail:{task.pk}")
    assert "larger than YouTube's 0.0 MB" not in alert.message
    assert "still over the 1,000-byte limit" in alert.message


def test_a_named_thumbnail_that_is_missing_is_not_sent_and_the_alert_names_it(
    fake_youtube, channel, workspace, sample_video
):
    task = ready_task(channel, sample_video, thumbnail="s01")

    youtube.upload_video(task)  # the video is published all the same

    assert Upload.objects.get(task=task).state == UploadState.DONE
    assert fake_youtube.thumbnails == {}
    alert = Alert.objects.get(level="WARNING", key=f"youtube-thumbnail:{task.pk}")
    missing = paths.unit_output(channel.pk, str(task.pk), "composites", "s01")
    assert f"thumbnail 's01': {missing} is missing" in alert.message


def test_a_named_png_thumbnail_is_sent_as_a_jpeg_within_the_limit(
    fake_youtube, channel, workspace, sample_video
):
    task = ready_task(channel, sample_video, thumbnail="bulbasaur")
    asset = paths.unit_output(channel.pk, str(task.pk), "assets", "bulbasaur")
    asset.parent.mkdir(parents=True)
    noise = Image.effect_noise((3000, 2000), 120).convert("RGB")
    noise.save(asset)

    youtube.upload_video(task)

    sent = fake_youtube.thumbnails[Upload.objects.get(task=task).video_id]
    assert sent[:3] == b"\xff\xd8\xff" and len(sent) <= 2 * 1024 * 1024


def test_settle_upload_sends_a_stopped_task_back_to_the_upload_step(fake_youtube, task):
    from pipeline.models import VideoTask
    from pipeline.status import Status

    _unknown(fake_youtube, task)
    VideoTask.objects.filter(pk=task.pk).update(status=Status.UPLOAD_ERROR, failed_step="upload")

    call_command("settle_upload", str(task.pk), video_id=next(iter(fake_youtube.videos)))

    assert VideoTask.objects.get(pk=task.pk).status == Status.UPLOADING
    youtube.upload_video(task)  # the upload step publishes the known video
    assert fake_youtube.session_starts == 1 and fake_youtube.inserts == 1
