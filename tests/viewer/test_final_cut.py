"""When a cut is ready (pipeline/final_cut.py through services.task_advance): captions written,
the cut checked, and a channel that requires a clean cut stops a flawed one in Video Error with
the report; chapters from the measured cut go into the description sent to YouTube."""

import shutil
import uuid

import pytest

from pipeline import paths, services
from pipeline.chapters import chapters, description_with_chapters
from pipeline.cut import Cut, SceneCut
from pipeline.integrations.youtube_metadata import video_metadata
from pipeline.models import VideoTask
from pipeline.status import Status
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory, VideoTaskFactory

from .conftest import make_flawed_cut

pytestmark = pytest.mark.django_db

SCENE = SAMPLE_STORYBOARD["scenes"][0]
STORYBOARD = {
    **SAMPLE_STORYBOARD,
    "scenes": [
        {**SCENE, "id": "s01", "title": "Waking up", "narration": "The forest wakes."},
        {**SCENE, "id": "s02", "narration": "Bulbasaur sets out at first light. It is hungry."},
        {**SCENE, "id": "s03", "title": "A neighbour", "narration": "It is not alone."},
    ],
}


@pytest.fixture
def flawed_cut_files(tmp_path_factory):
    return make_flawed_cut(tmp_path_factory.mktemp("flawed"))


def assembled_task(channel, files):
    task = VideoTaskFactory(channel=channel, storyboard=STORYBOARD, status=Status.ASSEMBLY_READY)
    final = paths.final_video(channel.pk, str(task.pk))
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(files[0], final)
    record = paths.cut_record(channel.pk, str(task.pk))
    shutil.copyfile(files[0].with_name("final.cut.json"), record)
    return task


def test_a_channel_requiring_a_clean_cut_stops_a_flawed_one_in_video_error(
    workspace, flawed_cut_files
):
    channel = ChannelFactory(id="strict", require_clean_cut=True)
    task = assembled_task(channel, flawed_cut_files)

    services.task_advance(task.pk)

    task = VideoTask.objects.get(pk=task.pk)
    assert task.status == Status.VIDEO_ERROR
    assert "requires a clean cut" in task.error_log
    assert "scene s02: black picture (2.0 s of black)" in task.error_log
    assert "scene s03: clip slowed and its last frame held" in task.error_log
    assert paths.cut_check(channel.pk, str(task.pk)).is_file()
    assert paths.captions(channel.pk, str(task.pk), "vtt").read_text().startswith("WEBVTT")


def test_other_channels_get_the_flawed_cut_to_review_with_its_report(workspace, flawed_cut_files):
    channel = ChannelFactory(id="lenient")
    task = assembled_task(channel, flawed_cut_files)

    services.task_advance(task.pk)

    task = VideoTask.objects.get(pk=task.pk)
    assert task.status == Status.FINAL_REVIEW
    srt = paths.captions(channel.pk, str(task.pk), "srt").read_text()
    assert srt.startswith("1\n00:00:00,000 --> ")
    assert "\n00:00:04,000 --> " in srt and "\n00:00:08,000 --> " in srt


def cut_of(*seconds):
    scenes, at = [], 0.0
    for number, length in enumerate(seconds, start=1):
        scenes.append(SceneCut(f"s{number:02d}", number, at, at + length, length - 0.5))
        at += length
    return Cut(30, at, scenes, recorded=True)


def test_chapters_start_at_zero_ascend_and_last_ten_seconds_each():
    storyboard = {"scenes": [
        {"id": "s01", "title": "Waking up", "narration": "x"},
        {"id": "s02", "narration": "y"},
        {"id": "s03", "narration": "Into the clearing. The stream is where the day begins."},
        {"id": "s04", "title": "A <neighbour>", "narration": "z"},
        {"id": "s05", "narration": "w"},
    ]}  # fmt: skip
    found = chapters(storyboard, cut_of(6.2, 12.4, 14.0, 61.5, 3.0))
    # s01 (6.2 s) is too short alone: s02 joins its chapter; the last scene (3 s) joins the
    # chapter before it. Titles: the scene's title, else its narration's first sentence.
    assert found == [(0.0, "Waking up"), (18.6, "Into the clearing"), (32.6, "A neighbour")]
    text = description_with_chapters("A day in the forest.", found)
    assert text == (
        "A day in the forest.\n\nChapters:\n0:00 Waking up\n0:18 Into the clearing\n"
        "0:32 A neighbour"
    )


def test_a_video_without_three_ten_second_scenes_gets_no_chapters():
    storyboard = {"scenes": [{"id": f"s{n:02d}", "narration": "x"} for n in range(1, 4)]}
    assert chapters(storyboard, cut_of(12.0, 9.0, 8.0)) == []  # 12 s, then 17 s: two
    assert description_with_chapters("Plain.", []) == "Plain."


def test_chapters_that_would_pass_5000_bytes_are_left_out():
    found = [(0.0, "One"), (10.0, "Two"), (20.0, "Three")]
    long = "é" * 2490  # 4,980 bytes: the 40 bytes of chapters would pass 5,000
    assert description_with_chapters(long, found) == long


def test_the_upload_sends_the_chapters_of_the_measured_cut(workspace, flawed_cut_files):
    """The flawed cut's scenes are 4 s each: no chapters. Three 12 s scenes make three."""
    channel = ChannelFactory(id="chapters")
    task = assembled_task(channel, flawed_cut_files)
    assert "Chapters" not in video_metadata(task, marker=uuid.uuid4())["snippet"]["description"]
    record = paths.cut_record(channel.pk, str(task.pk))
    record.write_text(record.read_text().replace('"frames": 120', '"frames": 360')
                      .replace('"start_frame": 120', '"start_frame": 360')
                      .replace('"start_frame": 240', '"start_frame": 720'))  # fmt: skip
    description = video_metadata(task, marker=uuid.uuid4())["snippet"]["description"]
    assert description.endswith(
        "Chapters:\n0:00 Waking up\n0:12 Bulbasaur sets out at first light\n0:24 A neighbour"
    )
