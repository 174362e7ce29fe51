"""Metadata YouTube would refuse never reaches it and is never cut: the upload checks title,
description bytes and tags as YouTube counts them (core.text.youtube_text_limits) and fails with the
field named before any quota is spent; the fake refuses what YouTube refuses."""

import json
import urllib.request
import uuid

import pytest

from costs.models import YouTubeQuotaUsage
from pipeline.integrations import youtube
from pipeline.integrations.youtube_metadata import video_metadata
from pipeline.runner import Outcome
from pipeline.unit_spec import UnitError
from tests.fakes.youtube import ACCESS_TOKEN
from tests.youtube.conftest import ready_task, youtube_channel

pytestmark = pytest.mark.django_db

LONG_TAGS = [f"tag number {n:03d}" for n in range(40)]  # 40 x (14 + 2) + 39 = 679 counted


def quota_spent():
    return sum(YouTubeQuotaUsage.objects.values_list("units_used", flat=True))


@pytest.mark.parametrize(
    ("storyboard", "field", "says"),
    [
        ({"description": "é" * 2600}, "storyboard: description", "5,200 bytes"),
        ({"tags": LONG_TAGS}, "storyboard: tags", "679 characters as YouTube counts them"),
        ({"title": "t" * 101}, "storyboard: title", "101 characters"),
        ({"title": "a <b> title"}, "storyboard: title", "YouTube refuses < and >"),
    ],
)
def test_over_limit_metadata_fails_naming_the_field_before_any_quota_is_spent(
    fake_youtube, channel, workspace, sample_video, storyboard, field, says
):
    task = ready_task(channel, sample_video, **storyboard)

    with pytest.raises(UnitError) as raised:
        youtube.upload_video(task)

    assert raised.value.outcome == Outcome.PERMANENT
    assert f"{field}: " in str(raised.value) and says in str(raised.value)
    assert fake_youtube.session_starts == 0 and fake_youtube.inserts == 0
    assert quota_spent() == 0


def test_channel_tags_over_the_limit_name_the_channel_file(fake_youtube, workspace, sample_video):
    channel = youtube_channel(id="tagchannel", tags=LONG_TAGS)
    task = ready_task(channel, sample_video, tags=[])

    with pytest.raises(UnitError, match=r"channel_configs/tagchannel.yaml: tags: 679 characters"):
        youtube.upload_video(task)
    assert fake_youtube.session_starts == 0


def test_tags_within_the_limit_are_sent_whole_with_the_marker_last(
    fake_youtube, channel, workspace, sample_video
):
    tags = [f"tag{n:02d}" for n in range(40)]  # 40 x 5 + 39 = 239, plus the marker: fits
    task = ready_task(channel, sample_video, tags=tags)

    youtube.upload_video(task)

    sent = fake_youtube.insert_bodies[0]["snippet"]["tags"]
    assert sent[:-1] == tags and sent[-1].startswith("videogen-")


@pytest.mark.parametrize(
    ("snippet", "reason"),
    [
        ({"title": "t" * 101}, "invalidTitle"),
        ({"title": ""}, "invalidTitle"),
        ({"title": "ok", "description": "é" * 2501}, "invalidDescription"),
        ({"title": "ok", "description": "a > b"}, "invalidDescription"),
        ({"title": "ok", "tags": LONG_TAGS}, "invalidTags"),
    ],
)
def test_the_fake_refuses_over_limit_metadata_as_youtube_does(fake_youtube, snippet, reason):
    request = urllib.request.Request(
        f"{fake_youtube.url}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status",
        data=json.dumps({"snippet": snippet, "status": {}}).encode(),
        headers={
            "Authorization": f"Bearer {ACCESS_TOKEN}",
            "Content-Type": "application/json",
            "X-Upload-Content-Type": "video/mp4",
            "X-Upload-Content-Length": "100",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 - the local fake

    error = json.loads(refused.value.read())["error"]
    assert refused.value.code == 400
    assert error["errors"][0]["reason"] == reason
    assert error["errors"][0]["domain"] == "youtube.video"
    assert fake_youtube.session_starts == 0


def test_the_body_builder_cuts_nothing(channel):
    from tests.factories import SAMPLE_STORYBOARD, VideoTaskFactory

    title = "é" * 100  # 100 characters (200 bytes): allowed as it is
    task = VideoTaskFactory.build(channel=channel, storyboard={**SAMPLE_STORYBOARD, "title": title})

    assert video_metadata(task, marker=uuid.uuid4())["snippet"]["title"] == title
