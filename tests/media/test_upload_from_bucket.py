"""The YouTube upload on a worker that has none of the media on its disk: the final cut is read
from the bucket one chunk at a time, the thumbnail is a frame of it fetched through the cache,
and the receipt (the upload unit's output) goes to the bucket."""

import pytest

from core.media_store import media_key, media_store
from pipeline import paths
from pipeline.integrations import youtube
from pipeline.models import Upload, UploadState
from tests.youtube.conftest import (  # noqa: F401 - fixtures used by name
    fake_youtube,
    ready_task,
    sample_video,
    youtube_channel,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def task_in_bucket(media_bucket, workspace, sample_video):  # noqa: F811
    task = ready_task(youtube_channel(), sample_video)
    final = paths.final_video(task.channel_id, str(task.pk))
    media_store().put_file(media_key(final), final)
    final.unlink()  # this worker's disk holds nothing of the video
    return task


def test_it_uploads_the_final_cut_read_from_the_bucket_in_chunks(
    fake_youtube,  # noqa: F811
    task_in_bucket,
    sample_video,  # noqa: F811
):
    youtube.upload_video(task_in_bucket)

    upload = Upload.objects.get(task=task_in_bucket)
    assert upload.state == UploadState.DONE
    assert fake_youtube.chunks == 7  # 1.5 MB in 256 KiB chunks
    assert fake_youtube.bytes_received == sample_video.stat().st_size
    assert fake_youtube.thumbnails[upload.video_id][:3] == b"\xff\xd8\xff"
    receipt = youtube.receipt_path(task_in_bucket)
    assert media_store().exists(media_key(receipt)) and not receipt.exists()
