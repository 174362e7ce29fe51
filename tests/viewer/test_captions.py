"""Captions from the narration text and the measured cut (pipeline/captions.py)."""

import json

from pipeline.captions import LINE_CHARS, MAX_LINES, cues_for_cut, phrases, to_srt, to_vtt
from pipeline.cut import Cut, SceneCut, cut_from_record
from pipeline.media import media_duration

from .conftest import assemble, moving_clip, tone

FRAME = 1 / 30
LONG = (
    "Deep in the ancient forest, where the ferns grow taller than a grown man, a small "
    "creature wakes beneath the roots of a fallen oak; it stretches, yawns, and listens to "
    "the birds overhead. Nothing moves. Then, slowly, the bulb on its back begins to open, "
    "as it has every morning for a thousand mornings before this one."
)
SHORT = "It is not alone."
MEDIUM = "An Oddish has claimed the same patch of morning sun, and it will not share it."
STORYBOARD = {
    "scenes": [
        {"id": "s01", "narration": LONG},
        {"id": "s02", "narration": SHORT},
        {"id": "s03", "narration": MEDIUM},
    ]
}


def scene_cues(cues, scene):
    return [cue for cue in cues if cue.scene == scene]


def assert_well_formed(cues, cut):
    for cue in cues:
        assert len(cue.lines) <= MAX_LINES, cue
        assert all(len(line) <= LINE_CHARS for line in cue.lines), cue
        assert cue.end - cue.start >= 1.0 - 1e-6, cue
        placed = cut.scene(cue.scene)
        assert placed.start - 1e-6 <= cue.start < cue.end <= placed.end + 1e-6, cue
    starts = [cue.start for cue in cues]
    assert starts == sorted(starts)


def test_it_splits_long_narration_at_sentences_and_clauses_into_two_line_cues():
    pieces = phrases(LONG)
    assert len(pieces) >= 5
    assert pieces[-1].endswith("before this one.")
    assert any(piece.endswith(";") or piece.endswith(",") for piece in pieces)
    assert " ".join(pieces) == " ".join(LONG.split())


def test_it_times_cues_on_the_scene_boundaries_of_the_cut():
    cut = Cut(30, 31.0, [
        SceneCut("s01", 1, 0.0, 22.0, narration_seconds=21.4),
        SceneCut("s02", 2, 22.0, 25.0, narration_seconds=1.3),
        SceneCut("s03", 3, 25.0, 31.0, narration_seconds=5.9),
    ], recorded=True)  # fmt: skip
    cues = cues_for_cut(STORYBOARD, cut)
    assert_well_formed(cues, cut)
    for placed in cut.scenes:
        own = scene_cues(cues, placed.scene)
        assert abs(own[0].start - placed.start) <= FRAME
        # The last cue ends when the narration ends (a short one keeps its second).
        spoken = max(placed.narration_seconds, 1.0)
        assert abs(own[-1].end - (placed.start + spoken)) <= FRAME
    assert len(scene_cues(cues, "s01")) >= 5
    assert scene_cues(cues, "s02")[0].lines == ("It is not alone.",)


def test_it_writes_webvtt_and_srt_of_the_same_cues():
    cut = Cut(30, 4.0, [SceneCut("s02", 1, 0.0, 4.0, narration_seconds=1.5)], recorded=True)
    cues = cues_for_cut({"scenes": [{"id": "s02", "narration": "Fish & <chips>."}]}, cut)
    vtt, srt = to_vtt(cues), to_srt(cues)
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nFish &amp; &lt;chips&gt;.")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,500\nFish & <chips>.")


def test_it_places_cues_within_a_frame_of_the_assembled_scene_boundaries(tmp_path):
    """The real cut: assemble_video.py fits each clip to its narration (slowing a short clip
    and holding its last frame) and records where each scene lies; the captions follow."""
    narrations = {"s01": 7.37, "s02": 1.21, "s03": 3.53}
    clips = []
    for number, (scene, seconds) in enumerate(narrations.items(), start=1):
        clips.append({
            "clip_number": number,
            "scene": scene,
            "video": str(moving_clip(tmp_path / f"{scene}.mp4", 5)),
            "audio": str(tone(tmp_path / f"{scene}.mp3", seconds, frequency=200 + 100 * number)),
        })  # fmt: skip
    final = assemble({"clips": clips}, tmp_path)
    record = json.loads((tmp_path / "final.cut.json").read_text())
    cut = cut_from_record(record, STORYBOARD["scenes"])
    # The boundaries are the measured narrations', summed in whole frames.
    measured = [media_duration(tmp_path / f"{scene}.mp3") for scene in narrations]
    running = 0.0
    for placed, seconds in zip(cut.scenes, measured, strict=True):
        assert abs(placed.start - running) <= FRAME
        running += seconds
        assert abs(placed.end - running) <= FRAME
    assert abs(cut.seconds - media_duration(final)) <= 2 * FRAME
    assert record["clips"][0]["held_seconds"] > 0  # 5 s clip slowed 1.25x, then held
    cues = cues_for_cut(STORYBOARD, cut)
    assert_well_formed(cues, cut)
    for placed in cut.scenes:
        assert abs(scene_cues(cues, placed.scene)[0].start - placed.start) <= FRAME
