"""Captions burned into the picture (pipeline/burn_in.py), with both FFmpeg builds."""

import shutil
import subprocess

import pytest

from core.media_store import media_key, media_store, media_text_put
from pipeline import paths
from pipeline.burn_in import burn_captions, task_burn_captions
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory, VideoTaskFactory
from tests.fakes.media import ffmpeg_binary

from .conftest import render

SRT = "1\n00:00:00,000 --> 00:00:02,000\nHELLO WORLD, IN CAPTIONS\n"


@pytest.fixture
def plain_video(tmp_path):
    return render(tmp_path / "final.mp4", "-f", "lavfi", "-i", "color=gray:s=640x360:r=30:d=2",
                  "-f", "lavfi", "-i", "sine=d=2", "-c:v", "libx264", "-preset", "ultrafast",
                  "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")  # fmt: skip


def bands(path):
    """Mean absolute difference from flat grey of the top and bottom fifths of the frame at 1 s."""
    raw = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-ss", "1", "-i", str(path),
         "-frames:v", "1", "-vf", "scale=160:90", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    rows = [raw[row * 160 : (row + 1) * 160] for row in range(90)]
    grey = rows[45][0]

    def spread(selected):
        return sum(abs(value - grey) for row in selected for value in row) / (160 * len(selected))

    return spread(rows[:18]), spread(rows[-18:])


@pytest.mark.parametrize("position", ["bottom", "top"])
def test_it_draws_the_captions_where_the_channel_puts_them(
    plain_video, tmp_path, ffmpeg_path, position
):
    srt = tmp_path / "captions.srt"
    srt.write_text(SRT)
    before = bands(plain_video)
    burn_captions(plain_video, srt, {"size": 60, "outline": 3, "position": position},
                  ffmpeg=ffmpeg_path)  # fmt: skip
    top, bottom = bands(plain_video)
    assert before == (0.0, 0.0) or max(before) < 1.0
    drawn, untouched = (bottom, top) if position == "bottom" else (top, bottom)
    # 60 px text at 1080p is a thin line of the frame: a few grey levels over the band.
    assert drawn > 1.0 and untouched < 0.3, (top, bottom)


@pytest.mark.django_db
def test_a_channel_burning_captions_gets_them_once_per_cut(workspace, plain_video):
    channel = ChannelFactory(id="burner", captions={"burn": True, "size": 72})
    task = VideoTaskFactory(channel=channel, storyboard=SAMPLE_STORYBOARD)
    final = paths.final_video(channel.pk, str(task.pk))
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plain_video, final)
    paths.captions(channel.pk, str(task.pk), "srt").write_text(SRT)

    assert task_burn_captions(task) is True
    assert bands(final)[1] > 1.0 and bands(final)[0] < 0.3
    assert task_burn_captions(task) is False  # the same cut is not drawn on twice
    plain = VideoTaskFactory(channel=ChannelFactory(id="plain"), storyboard=SAMPLE_STORYBOARD)
    assert task_burn_captions(plain) is False


@pytest.mark.django_db
def test_a_channel_burning_captions_gets_them_once_per_cut_with_the_media_in_a_bucket(
    workspace, plain_video, media_bucket, tmp_path
):
    channel = ChannelFactory(id="burner", captions={"burn": True, "size": 72})
    task = VideoTaskFactory(channel=channel, storyboard=SAMPLE_STORYBOARD)
    final_key = media_key(paths.final_video(channel.pk, str(task.pk)))
    store = media_store()
    store.put_file(final_key, plain_video)
    media_text_put(paths.captions(channel.pk, str(task.pk), "srt"), SRT)

    assert task_burn_captions(task) is True
    assert not paths.final_video(channel.pk, str(task.pk)).exists()  # nothing on this disk
    burned = tmp_path / "burned.mp4"
    store.get_to_file(final_key, burned)
    assert bands(burned)[1] > 1.0 and bands(burned)[0] < 0.3
    assert task_burn_captions(task) is False  # the same cut is not drawn on twice
