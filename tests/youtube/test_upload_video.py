"""upload_video against the fake YouTube server, in this process: the resumable protocol, its
faults, and the Upload row that guarantees one video per task."""

from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from core.models import Alert, AuditLog
from costs.models import YouTubeQuotaUsage
from pipeline import paths
from pipeline.integrations import youtube, youtube_reconcile
from pipeline.models import Upload, UploadState, Video
from pipeline.runner import Outcome
from pipeline.unit_spec import UnitError

pytestmark = pytest.mark.django_db


def usage(project="default"):
    return YouTubeQuotaUsage.objects.get(quota_project=project)


def test_it_uploads_in_chunks_and_saves_the_video_id(fake_youtube, task, sample_video):
    result = youtube.upload_video(task)

    upload = Upload.objects.get(task=task)
    video_id = upload.video_id
    assert fake_youtube.inserts == 1 and fake_youtube.session_starts == 1
    assert fake_youtube.chunks == 7  # 1.5 MB in 256 KiB chunks
    assert fake_youtube.bytes_received == sample_video.stat().st_size
    assert upload.state == UploadState.DONE
    assert upload.bytes_confirmed == upload.total_bytes == sample_video.stat().st_size
    assert result == {
        "outputs": [f"https://www.youtube.com/watch?v={video_id}"],
        "usage": {"youtube_video_id": video_id},
    }
    video = Video.objects.get(task=task)
    assert video.youtube_video_id == video_id
    assert video.youtube_url == f"https://www.youtube.com/watch?v={video_id}"
    assert youtube.receipt_path(task).exists()
    # A frame of the video became the thumbnail, a JPEG.
    assert fake_youtube.thumbnails[video_id][:3] == b"\xff\xd8\xff"
    assert upload.thumbnail_set and upload.lease_owner == ""


def test_it_never_uploads_a_task_twice(fake_youtube, task):
    first = youtube.upload_video(task)
    second = youtube.upload_video(task)

    assert first == second
    assert fake_youtube.inserts == 1 and fake_youtube.session_starts == 1
    assert usage().upload_calls_used == 1


def test_it_sends_the_ai_disclosure_and_the_channels_made_for_kids_flag(
    fake_youtube, workspace, sample_video
):
    from tests.youtube.conftest import ready_task, youtube_channel

    channel = youtube_channel(
        made_for_kids=True, privacy="unlisted", category_id="27", default_language="de",
        tags=["nature", "pokemon"],
    )  # fmt: skip
    task = ready_task(channel, sample_video, description="A documentary.", thumbnail="bulbasaur")
    asset = paths.unit_output(channel.pk, str(task.pk), "assets", "bulbasaur")
    asset.parent.mkdir(parents=True)
    Image.new("RGB", (1920, 1080), (10, 200, 30)).save(asset)

    youtube.upload_video(task)

    body = fake_youtube.insert_bodies[0]
    upload = Upload.objects.get(task=task)
    assert body["status"] == {
        "privacyStatus": "unlisted",
        "selfDeclaredMadeForKids": True,
        "containsSyntheticMedia": True,
    }  # a manual schedule publishes on upload: no publishAt
    assert body["snippet"] == {
        "title": "The Secret Life of Bulbasaur",
        "description": "A documentary.",
        "tags": ["nature", "pokemon", f"videogen-{upload.marker.hex}"],
        "categoryId": "27",
        "defaultLanguage": "de",
    }
    request = fake_youtube.requests_to("/upload/youtube/v3/videos")[0]
    assert request.query["part"] == ["snippet,status"]
    assert request.headers["x-upload-content-type"] == "video/mp4"
    thumbnail = fake_youtube.thumbnails[upload.video_id]
    assert thumbnail[:3] == b"\xff\xd8\xff"  # the named asset, as a JPEG


def test_a_scheduled_channel_uploads_private_with_publish_at(fake_youtube, workspace, sample_video):
    import datetime as dt

    from tests.youtube.conftest import ready_task, youtube_channel

    channel = youtube_channel(
        schedule="daily", publish_time=dt.time(18, 30), timezone="Europe/Berlin", privacy="public"
    )
    task = ready_task(channel, sample_video)

    youtube.upload_video(task)

    status = fake_youtube.insert_bodies[0]["status"]
    upload = Upload.objects.get(task=task)
    assert status["privacyStatus"] == "private"
    assert status["publishAt"] == upload.publish_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    local = upload.publish_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (18, 30)


def test_a_connection_dropped_after_the_first_chunk_resumes_with_a_status_query(
    fake_youtube, task, sample_video
):
    fake_youtube.drop_after_chunk = 1

    youtube.upload_video(task)

    assert fake_youtube.status_queries == 1
    assert fake_youtube.inserts == 1 and fake_youtube.session_starts == 1
    assert fake_youtube.bytes_received == sample_video.stat().st_size
    assert Upload.objects.get(task=task).state == UploadState.DONE


def test_a_308_without_range_sends_everything_again_from_byte_zero(fake_youtube, task):
    fake_youtube.no_range_after_chunk = 2

    youtube.upload_video(task)

    assert fake_youtube.inserts == 1 and fake_youtube.session_starts == 1
    assert fake_youtube.chunks == 9  # two chunks, then all seven again
    assert Upload.objects.get(task=task).state == UploadState.DONE


def test_a_5xx_on_a_chunk_is_retried_after_asking_what_arrived(fake_youtube, task):
    fake_youtube.fail_chunks = {3: 503}

    youtube.upload_video(task)

    assert fake_youtube.status_queries == 1
    assert fake_youtube.inserts == 1
    assert fake_youtube.chunks == 8


def test_a_new_process_resumes_the_saved_session_instead_of_starting_another(
    fake_youtube, task, sample_video
):
    fake_youtube.fail_chunks = {n: 503 for n in range(3, 20)}
    with pytest.raises(UnitError) as stopped:
        youtube.upload_video(task)
    assert stopped.value.outcome == Outcome.TEMPORARY
    upload = Upload.objects.get(task=task)
    assert upload.session_uri and upload.bytes_confirmed == 2 * 256 * 1024
    assert upload.lease_owner == ""  # released for the next attempt

    fake_youtube.fail_chunks = {}
    youtube.upload_video(task)

    assert fake_youtube.session_starts == 1 and fake_youtube.inserts == 1
    assert fake_youtube.bytes_received == sample_video.stat().st_size
    assert usage().upload_calls_used == 1


def test_a_timeout_after_the_last_chunk_with_an_unanswerable_session_is_an_unknown_outcome(
    fake_youtube, task
):
    fake_youtube.hang_after_last_chunk = True
    fake_youtube.unanswerable_status_queries = True

    with pytest.raises(UnitError) as stopped:
        youtube.upload_video(task)

    assert stopped.value.outcome == Outcome.PERMANENT
    assert "will not be uploaded again automatically" in str(stopped.value)
    upload = Upload.objects.get(task=task)
    assert upload.state == UploadState.UNKNOWN and upload.video_id == ""
    assert Alert.objects.filter(level="CRITICAL", key=f"upload-unknown:{upload.pk}").exists()
    assert AuditLog.objects.filter(action="upload_outcome_unknown", task=task).exists()

    # Reconciliation asks the same session and finds the video YouTube made.
    fake_youtube.hang_after_last_chunk = False
    fake_youtube.unanswerable_status_queries = False
    video_id = youtube_reconcile.upload_reconcile(upload)

    assert video_id == next(iter(fake_youtube.videos))
    assert Upload.objects.get(task=task).state == UploadState.DONE
    assert Video.objects.get(task=task).youtube_video_id == video_id
    youtube.upload_video(task)  # the retry publishes the known video
    assert fake_youtube.inserts == 1 and fake_youtube.session_starts == 1


def test_the_ledger_counts_the_calls_made(fake_youtube, task):
    youtube.upload_video(task)

    row = usage()
    assert row.upload_calls_used == fake_youtube.session_starts == 1
    assert row.units_used == 50 * len(fake_youtube.thumbnails) == 50


def test_a_channel_without_credentials_stops_with_the_setup_command(
    fake_youtube, workspace, sample_video
):
    from channels_app.models import ChannelSecret
    from tests.youtube.conftest import ready_task, youtube_channel

    channel = youtube_channel(id="nocreds")
    ChannelSecret.objects.filter(channel=channel).delete()
    task = ready_task(channel, sample_video)

    with pytest.raises(UnitError) as stopped:
        youtube.upload_video(task)

    assert stopped.value.outcome == Outcome.CONFIG
    assert "manage.py setup_channel_oauth nocreds" in str(stopped.value)
    assert fake_youtube.requests == []
