"""A channel's narration and clip settings (the channel file's `narration:` and `clips:`) reach
the scripts: as flags our scripts declare (--videogen-contract), and only those an operator's
own script has on its command line. A null setting leaves the script's default."""

from pathlib import Path

import pytest
from django.conf import settings

from pipeline import runner
from pipeline.runner import script_command_line
from pipeline.steps import AudioStep, VideosStep
from tests.factories import ChannelFactory, VideoTaskFactory
from tests.pipeline.conftest import FAKE_SCRIPTS

pytestmark = pytest.mark.django_db

OPERATOR_SCRIPTS = Path(__file__).parent / "operator_scripts"
OUR_SCRIPTS = Path(settings.BASE_DIR) / "scripts"
NARRATION = {"model": "eleven_turbo_v2_5", "stability": 0.55, "similarity": 0.8, "style": 0.3,
             "speed": 1.1}  # fmt: skip
CLIPS = {"duration": 10, "negative_prompt": "blur, text, watermark", "cfg_scale": 0.6}


@pytest.fixture(autouse=True)
def fresh_contracts(monkeypatch):
    monkeypatch.setattr(runner, "_contracts", {})


def flags_of(argv):
    """{flag: value} of an argv whose flags all take one value."""
    return {arg: argv[i + 1] for i, arg in enumerate(argv) if arg.startswith("--")}


def argv_for(step, task, folder):
    spec = step.units(task)[0]
    name = spec.script
    return script_command_line(
        name, spec.args, spec.script_extensions, script=folder / f"{name}.py"
    )


def test_narration_settings_reach_our_generate_audio_and_the_fake_one():
    task = VideoTaskFactory(channel=ChannelFactory(narration=NARRATION, voice_id="v1"))
    for folder in (OUR_SCRIPTS, FAKE_SCRIPTS):
        flags = flags_of(argv_for(AudioStep(), task, folder))
        assert flags["--model"] == "eleven_turbo_v2_5"
        assert (flags["--stability"], flags["--similarity"], flags["--style"]) == (
            "0.55", "0.8", "0.3",
        )  # fmt: skip
        assert flags["--speed"] == "1.1"


def test_an_operators_generate_audio_gets_the_settings_its_command_line_has_and_not_speed():
    task = VideoTaskFactory(channel=ChannelFactory(narration=NARRATION))
    flags = flags_of(argv_for(AudioStep(), task, OPERATOR_SCRIPTS))
    assert flags["--stability"] == "0.55" and flags["--model"] == "eleven_turbo_v2_5"
    assert "--speed" not in flags and "--provider" not in flags


def test_clip_settings_reach_our_generate_video_but_not_an_operators():
    task = VideoTaskFactory(channel=ChannelFactory(clips=CLIPS))
    for folder in (OUR_SCRIPTS, FAKE_SCRIPTS):
        flags = flags_of(argv_for(VideosStep(), task, folder))
        assert flags["--duration"] == "10"  # the channel's clip length, not the scene's 5 s
        assert flags["--negative-prompt"] == "blur, text, watermark"
        assert flags["--cfg-scale"] == "0.6"
    theirs = flags_of(argv_for(VideosStep(), task, OPERATOR_SCRIPTS))
    assert set(theirs) == {"--image", "--prompt", "--output"}


def test_unset_or_null_settings_leave_the_scripts_defaults():
    channel = ChannelFactory(
        narration={"model": None, "stability": None, "speed": None},
        clips={"duration": None, "negative_prompt": None, "cfg_scale": None},
    )
    task = VideoTaskFactory(channel=channel)
    audio = flags_of(argv_for(AudioStep(), task, OUR_SCRIPTS))
    assert set(audio) == {"--text", "--output", "--provider"}
    video = flags_of(argv_for(VideosStep(), task, OUR_SCRIPTS))
    assert video["--duration"] == "5"  # the scene's own length
    assert not {"--negative-prompt", "--cfg-scale"} & set(video)


def test_a_video_estimate_follows_the_channels_clip_length():
    task = VideoTaskFactory(channel=ChannelFactory(clips={"duration": 10}))
    assert VideosStep().units(task)[0].estimate["clip_seconds"] == 10
