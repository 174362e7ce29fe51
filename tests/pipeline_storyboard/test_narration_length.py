"""Narration is written to its scene's length: the storyboard check refuses narration that
cannot fit (more than twice the scene's length, estimated from its words) naming the scene, and
the writer keeps every scene's narration to what fits."""

import pytest

from core.text.narration import narration_seconds, narration_trimmed
from core.text.storyboard import StoryboardInvalid, storyboard_validate
from tests.factories import SAMPLE_STORYBOARD


def _with_narration(words, duration=5):
    scene = {**SAMPLE_STORYBOARD["scenes"][0], "narration": " ".join(["word"] * words),
             "duration": duration}  # fmt: skip
    return {**SAMPLE_STORYBOARD, "scenes": [scene]}


def test_narration_that_cannot_fit_its_scene_is_refused_naming_the_scene():
    with pytest.raises(StoryboardInvalid) as refused:
        storyboard_validate(_with_narration(180), source="draft.yaml")

    assert refused.value.errors == [
        "draft.yaml: scenes[0].narration: scene s01: 180 words take about 72 s to speak, the "
        "scene is 5 s: keep it under 25 words (about 12 fit), or make the scene longer"
    ]


def test_narration_a_little_over_its_scene_is_accepted():
    assert storyboard_validate(_with_narration(20))["scenes"][0]["narration"]


def test_a_trimmed_narration_fits_and_ends_as_a_sentence():
    text = narration_trimmed("one, two " * 50, 5)

    assert narration_seconds(text) <= 5.2 and text.endswith(".")
    assert narration_trimmed("Short and sweet.", 5) == "Short and sweet."
