"""Fixtures for the YouTube tests: the fake server, a channel with stored credentials, and a task
with a real final video ready to upload."""

import shutil
import subprocess

import pytest

from channels_app.models import SecretName
from channels_app.services import channel_secret_set
from pipeline import paths
from pipeline.integrations import youtube_client, youtube_session
from pipeline.models import Video
from pipeline.status import Status
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory, VideoTaskFactory
from tests.fakes.youtube import CHANNEL_ID, FakeYouTube, credentials_json

CHUNK = 256 * 1024


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory):
    """A real 2-second MP4 of about 1.5 MB: six 256 KiB chunks and a short last one."""
    import imageio_ffmpeg

    path = tmp_path_factory.mktemp("youtube-media") / "final.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25,noise=alls=60:allf=t", "-t", "2",
         "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4M",
         str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture
def fake_youtube(settings, monkeypatch):
    settings.YOUTUBE_UPLOAD_CHUNK_BYTES = CHUNK
    settings.YOUTUBE_HTTP_TIMEOUT_SECONDS = 2
    monkeypatch.setattr(youtube_session, "CHUNK_RETRY_BASE_SECONDS", 0.01)
    with FakeYouTube() as fake:
        settings.YOUTUBE_API_BASE = fake.url
        monkeypatch.setattr(youtube_client, "_transport", lambda: fake.transport(timeout=2))
        yield fake


def youtube_channel(**fields):
    channel = ChannelFactory(
        id=fields.pop("id", "tubechannel"),
        providers={"image": "local", "video": "local", "voice": "local", "upload": "youtube"},
        youtube_channel_id=CHANNEL_ID,
        review_gates=[],
        **fields,
    )
    channel_secret_set(
        channel=channel, name=SecretName.YOUTUBE_OAUTH, value=credentials_json(), actor="test"
    )
    return channel


def ready_task(channel, video_file, *, status=Status.UPLOADING, **storyboard):
    """A task whose final video exists, in `status` (uploading: the upload step is running)."""
    task = VideoTaskFactory(
        channel=channel, status=status, storyboard={**SAMPLE_STORYBOARD, **storyboard}
    )
    final = paths.final_video(channel.pk, str(task.pk))
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(video_file, final)
    Video.objects.create(task=task, final_path=str(final), size_bytes=final.stat().st_size)
    return task


@pytest.fixture
def channel(db):
    return youtube_channel()


@pytest.fixture
def task(channel, workspace, sample_video):
    return ready_task(channel, sample_video)


# The real-stack fixtures (a Celery worker process on Redis and PostgreSQL): a plugin shared by
# every test directory (tests/stack.py) where it exists, else tests/pipeline/conftest.py's.
try:
    import tests.stack  # noqa: F401
except ImportError:
    from tests.pipeline.conftest import broker, fake_media, pipeline_env, worker  # noqa: F401
