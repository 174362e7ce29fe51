"""The automatic check of a final cut (pipeline/cut_check.py), with both FFmpeg builds."""

import json

import pytest

from pipeline.cut import cut_from_record
from pipeline.cut_check import measure, report_of

from .conftest import demo_cut, make_flawed_cut

SCENES = [{"id": "s01"}, {"id": "s02"}, {"id": "s03"}]


@pytest.fixture(scope="module")
def flawed_cut(tmp_path_factory):
    final, record = make_flawed_cut(tmp_path_factory.mktemp("flawed"))
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
