"""The channel's music (pipeline/music.py): a track from the channel's folder, the same one for a
video every time (or the storyboard's), carried by the manifest to assemble_video.py's ducking,
and recorded on the Video row."""

import re
import shutil
import subprocess

import pytest

from pipeline import paths, services
from pipeline.models import Video, VideoTask
from pipeline.music import music_choice
from pipeline.status import Status
from pipeline.steps import STEP_BY_NAME
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory, VideoTaskFactory
from tests.fakes.media import ffmpeg_binary

from .conftest import assemble, moving_clip, render, tone

pytestmark = pytest.mark.django_db

SCENE = SAMPLE_STORYBOARD["scenes"][0]


def music_folder(root, names=("calm.mp3", "dawn.mp3", "forest.mp3")):
    folder = root / "music"
    folder.mkdir()
    for name in names:  # a steady 200 Hz bed, longer than any cut here
        render(folder / name, "-f", "lavfi", "-i", "sine=f=200:d=20:r=44100",
               "-af", "volume=-6dB", "-c:a", "libmp3lame", "-b:a", "96k")  # fmt: skip
    (folder / "notes.txt").write_text("licences: see the shop's receipts")
    return folder


def band_level(path, start, end, frequency):
    """RMS level (dB) of one frequency band of a stretch of the file's sound."""
    completed = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-nostats", "-i", str(path), "-vn", "-af",
         f"atrim=start={start}:end={end},bandpass=f={frequency}:width_type=q:w=8,astats",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    overall = completed.stderr.rsplit("Overall", 1)[-1]
    return float(re.search(r"RMS level dB:\s*(-?[\d.]+)", overall).group(1))


def test_each_video_gets_one_track_of_the_folder_the_same_every_time(workspace, tmp_path):
    folder = music_folder(tmp_path)
    channel = ChannelFactory(id="musical", music={"folder": str(folder), "volume_db": -18})
    tasks = [VideoTaskFactory(channel=channel, storyboard=SAMPLE_STORYBOARD) for _ in range(12)]
    chosen = [music_choice(task)["track"] for task in tasks]
    assert chosen == [music_choice(task)["track"] for task in tasks]  # deterministic
    assert set(chosen) <= {"calm.mp3", "dawn.mp3", "forest.mp3"} and len(set(chosen)) > 1
    named = VideoTaskFactory(channel=channel, storyboard={**SAMPLE_STORYBOARD, "music": "dawn.mp3"})
    assert music_choice(named) == {
        "path": str(folder / "dawn.mp3"), "volume_db": -18.0, "track": "dawn.mp3"
    }  # fmt: skip
    manifest = STEP_BY_NAME["assembly"].manifest(named)
    assert manifest["music"] == {"path": str(folder / "dawn.mp3"), "volume_db": -18.0}


def test_a_track_not_in_the_folder_fails_the_assembly_naming_it(workspace, tmp_path):
    folder = music_folder(tmp_path)
    channel = ChannelFactory(id="musical", music={"folder": str(folder)})
    task = VideoTaskFactory(channel=channel, storyboard={**SAMPLE_STORYBOARD, "music": "gone.mp3"})
    music = STEP_BY_NAME["assembly"].manifest(task)["music"]
    assert music["path"] == str(folder / "gone.mp3")
    assert "storyboard: music: 'gone.mp3' is not a track in" in music["unusable"]


def test_the_music_is_ducked_under_the_narration_and_named_on_the_video(workspace, tmp_path):
    """s01 and s03 speak (a 1 kHz tone), s02 has no narration: the music (200 Hz) must be
    quieter while the narration plays than between."""
    folder = music_folder(tmp_path, names=("bed.mp3",))
    channel = ChannelFactory(id="musical", music={"folder": str(folder), "volume_db": -12})
    storyboard = {**SAMPLE_STORYBOARD, "scenes": [
        {**SCENE, "id": "s01", "sfx": ""},
        {**SCENE, "id": "s02", "sfx": "", "narration": ""},
        {**SCENE, "id": "s03", "sfx": ""},
    ]}  # fmt: skip
    task = VideoTaskFactory(channel=channel, storyboard=storyboard, status=Status.ASSEMBLY_READY)
    for scene in ("s01", "s02", "s03"):
        video = paths.unit_output(channel.pk, str(task.pk), "videos", scene)
        video.parent.mkdir(parents=True, exist_ok=True)
        moving_clip(video, 3)
    for scene in ("s01", "s03"):
        audio = paths.unit_output(channel.pk, str(task.pk), "audio", scene)
        audio.parent.mkdir(parents=True, exist_ok=True)
        tone(audio, 3, frequency=1000, volume_db=-10)
    manifest = STEP_BY_NAME["assembly"].manifest(task)
    assert manifest["music"]["path"] == str(folder / "bed.mp3")
    final = assemble(manifest, tmp_path)
    project = paths.final_video(channel.pk, str(task.pk))
    shutil.copyfile(final, project)
    shutil.copyfile(tmp_path / "final.cut.json", paths.cut_record(channel.pk, str(task.pk)))

    under_narration = band_level(final, 0.8, 2.6, 200)
    between = band_level(final, 3.8, 5.6, 200)
    assert under_narration < between - 3, (under_narration, between)

    services.task_advance(task.pk)  # the cut is ready: recorded, checked, sent to review
    assert VideoTask.objects.get(pk=task.pk).status == Status.FINAL_REVIEW
    assert Video.objects.get(task=task).music_track == "bed.mp3"
