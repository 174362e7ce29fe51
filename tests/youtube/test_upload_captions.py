"""The caption track on YouTube (pipeline/integrations/youtube_captions.py): sent with the
upload in the storyboard's language, its 400 units in the ledger before the call, and a failure
that leaves the video published and is retried by the beat entry."""

import datetime as dt

import pytest

from core.models import Alert
from costs.models import YouTubeQuotaUsage
from pipeline import paths
from pipeline.integrations import youtube
from pipeline.integrations.youtube_captions import captions_retry_due
from pipeline.models import Upload, UploadState, Video
from tests.concurrency import errors_in, race
from tests.youtube.conftest import ready_task

pytestmark = pytest.mark.django_db


def test_it_sends_the_caption_track_in_the_storyboards_language(
    fake_youtube, channel, workspace, sample_video
):
    task = ready_task(channel, sample_video, language="pt-BR")
    youtube.upload_video(task)

    upload = Upload.objects.get(task=task)
    assert fake_youtube.api_calls["captions.insert"] == 1
    [(caption_id, caption)] = fake_youtube.captions.items()
    assert upload.caption_id == caption_id
    assert caption["snippet"] == {
        "videoId": upload.video_id, "language": "pt-BR", "name": "", "isDraft": False
    }  # fmt: skip
    srt = paths.captions(channel.pk, str(task.pk), "srt").read_bytes()
    assert caption["body"] == srt and srt.startswith(b"1\n00:00:00,000 --> ")
    first_words = task.storyboard["scenes"][0]["narration"].split()[:3]
    assert " ".join(first_words).encode() in srt
    # thumbnails.set 50 + captions.insert 400, reserved in the ledger.
    assert YouTubeQuotaUsage.objects.get().units_used == 450


def test_it_uses_the_channels_language_when_the_storyboard_names_none(
    fake_youtube, task, channel
):
    channel.default_language = "de"
    channel.save()
    youtube.upload_video(task)
    [caption] = fake_youtube.captions.values()
    assert caption["snippet"]["language"] == "de"


def test_a_failing_caption_leaves_the_video_published_and_beat_retries_it(fake_youtube, task):
    fake_youtube.caption_failures = 1  # captions.insert answers 500 once

    result = youtube.upload_video(task)

    upload = Upload.objects.get(task=task)
    assert upload.state == UploadState.DONE and result["usage"]["youtube_video_id"]
    assert Video.objects.get(task=task).youtube_video_id == upload.video_id
    assert upload.caption_id == "" and upload.caption_attempts == 1
    assert "500 backendError" in upload.caption_error
    assert upload.caption_retry_at is not None
    alert = Alert.objects.get(key=f"youtube-captions:{task.pk}:retry")
    assert alert.level == "WARNING" and "published" in alert.message

    assert captions_retry_due(now=upload.caption_retry_at - dt.timedelta(seconds=1)) == 0
    assert captions_retry_due(now=upload.caption_retry_at) == 1
    assert captions_retry_due(now=upload.caption_retry_at + dt.timedelta(hours=1)) == 0
    upload.refresh_from_db()
    assert upload.caption_id in fake_youtube.captions and upload.caption_retry_at is None
    assert len(fake_youtube.captions) == 1
    # Each attempt reserved its 400 units before the call (the failed one too: it was made).
    assert YouTubeQuotaUsage.objects.get().units_used == 50 + 400 + 400


def test_a_caption_without_quota_waits_for_the_reset_without_calling(
    fake_youtube, task, settings
):
    settings.YOUTUBE_DAILY_UNITS = 300  # the thumbnail fits, the caption does not

    youtube.upload_video(task)

    upload = Upload.objects.get(task=task)
    assert upload.state == UploadState.DONE
    assert fake_youtube.api_calls["captions.insert"] == 0
    assert upload.caption_retry_at is not None and "no quota left" in upload.caption_error


@pytest.mark.django_db(transaction=True)
def test_beat_runs_racing_on_a_due_caption_send_it_once(fake_youtube, task):
    fake_youtube.caption_failures = 1
    youtube.upload_video(task)
    upload = Upload.objects.get(task=task)
    due = upload.caption_retry_at

    def caption_due_again(_):
        fake_youtube.captions.clear()
        Upload.objects.filter(pk=upload.pk).update(caption_id="", caption_retry_at=due)

    results = race(lambda index: captions_retry_due(now=due), threads=4, rounds=8,
                   before_round=caption_due_again)  # fmt: skip

    assert errors_in(results) == []
    for outcome in results:
        assert sum(outcome) == 1  # one run claimed the caption and sent it
    assert len(fake_youtube.captions) == 1
