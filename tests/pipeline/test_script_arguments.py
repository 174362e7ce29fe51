"""Texts reach a script as texts: a narration or prompt that starts with '-' is never read by the
script's parser as a flag."""

import copy

import pytest

from pipeline.runner import flag_arguments, run_script, script_command_line
from pipeline.steps import AudioStep
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory, VideoTaskFactory


@pytest.mark.parametrize("text", ["-30", "-Hello there", "--output=/tmp/elsewhere.mp3"])
def test_a_text_that_starts_with_a_dash_reaches_our_generate_audio_as_its_text(tmp_path, text):
    output = tmp_path / "s01.mp3"

    result = run_script(
        "generate_audio",
        ["--text", text, "--output", output],
        extensions={"--provider": "local"},
    )

    assert result.ok, result.error or result.stderr_tail
    assert result.outputs == [str(output)] and output.stat().st_size > 0


@pytest.mark.django_db
def test_the_audio_steps_command_line_joins_a_dashed_narration_to_its_flag():
    storyboard = copy.deepcopy(SAMPLE_STORYBOARD)
    storyboard["scenes"][0]["narration"] = "-30"
    task = VideoTaskFactory(channel=ChannelFactory(), storyboard=storyboard)
    spec = AudioStep().units(task)[0]

    argv = script_command_line(spec.script, spec.args, {})

    assert "--text=-30" in argv and "-30" not in argv


def test_flag_arguments_keep_ordinary_values_apart_from_their_flags():
    assert flag_arguments([("--text", "hello"), ("--scale", 1.5), ("--text", "-x")]) == [
        "--text", "hello", "--scale", "1.5", "--text=-x",
    ]  # fmt: skip
