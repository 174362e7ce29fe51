"""The automatic check of a final cut (pipeline/cut_check.py), with both FFmpeg builds."""

import json

import pytest

from pipeline.cut import cut_from_record
from pipeline.cut_check import measure, report_of

from .conftest import demo_cut, render

SCENES = [{"id": "s01"}, {"id": "s02"}, {"id": "s03"}]


@pytest.fixture(scope="module")
def flawed_cut(tmp_path_factory):
    """Three 4 s scenes: s01 clean; s02 with 2 s of black in its middle; s03 a 1 s clip held on
    its last frame for 3 s (as the assembly holds a clip too short for its narration). The mix
    sits at -20 LUFS instead of -14 (a 1 kHz sine at full scale is -3 LUFS; 17 dB under it)."""
    directory = tmp_path_factory.mktemp("flawed")
    source = "testsrc2=s=640x360:r=30"
    final = render(
        directory / "final.mp4",
        "-f", "lavfi", "-i", f"{source}:d=5",
        "-f", "lavfi", "-i", "color=black:s=640x360:r=30:d=2",
        "-f", "lavfi", "-i", f"{source}:d=1",
        "-f", "lavfi", "-i", f"{source}:d=1",
        "-f", "lavfi", "-i", "aevalsrc=sin(2*PI*1000*t):s=48000:d=12",
        "-filter_complex",
        "[0:v][1:v][2:v]concat=n=3:v=1:a=0[first];"
        "[3:v]tpad=stop_mode=clone:stop_duration=3[held];"
        "[first][held]concat=n=2:v=1:a=0,format=yuv420p[v];[4:a]volume=-17dB[a]",
        "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
        "-c:a", "aac", "-b:a", "128k", "-t", "12",
    )  # fmt: skip
    record = {
        "frame_rate": 30,
        "frames": 360,
        "clips": [
            {"clip_number": 1, "scene": "s01", "start_frame": 0, "frames": 120,
             "narration_seconds": 3.9, "clip_seconds": 5.0, "slowdown": 1.0, "held_seconds": 0},
            {"clip_number": 2, "scene": "s02", "start_frame": 120, "frames": 120,
             "narration_seconds": 3.9, "clip_seconds": 4.0, "slowdown": 1.0, "held_seconds": 0},
            {"clip_number": 3, "scene": "s03", "start_frame": 240, "frames": 120,
             "narration_seconds": 3.9, "clip_seconds": 1.0, "slowdown": 1.0, "held_seconds": 3.0},
        ],
    }  # fmt: skip
    return final, cut_from_record(record, SCENES)


def kinds(report, scene):
    found = next(entry for entry in report["scenes"] if entry["scene"] == scene)
    return sorted(finding["kind"] for finding in found["findings"])


def test_it_flags_black_frozen_held_and_loudness_at_the_right_scenes(flawed_cut, ffmpeg_path):
    final, cut = flawed_cut
    report = report_of(measure(final, ffmpeg=ffmpeg_path), cut)
    assert not report["clean"]
    assert kinds(report, "s01") == []
    assert kinds(report, "s02") == ["black"]
    black = report["scenes"][1]["findings"][0]
    assert abs(black["start"] - 5.0) < 0.1 and abs(black["end"] - 7.0) < 0.1
    assert kinds(report, "s03") == ["freeze", "held"]
    freeze = next(f for f in report["scenes"][2]["findings"] if f["kind"] == "freeze")
    assert 8.9 < freeze["start"] < 9.2 and freeze["end"] > 11.8
    assert report["flagged_scenes"] == ["s02", "s03"]
    assert [finding["kind"] for finding in report["whole"]] == ["loudness"]
    assert abs(report["integrated_lufs"] - -20.0) < 1.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo")
    final, storyboard = demo_cut(directory)
    record = json.loads((directory / "final.cut.json").read_text())
    return final, cut_from_record(record, storyboard["scenes"])


def test_it_passes_the_demos_cut(demo, ffmpeg_path):
    final, cut = demo
    report = report_of(measure(final, ffmpeg=ffmpeg_path), cut)
    assert report["clean"], json.dumps(report, indent=1)
    assert abs(report["integrated_lufs"] - -14.0) <= 1.0
