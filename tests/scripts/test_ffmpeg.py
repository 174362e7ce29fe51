"""core/ffmpeg.py: which FFmpeg the scripts use, and the capability check that refuses one
that is too old or cannot run a filter the scripts use (exit 78, before any money is spent)."""

import os

import imageio_ffmpeg
import pytest

from core import ffmpeg as _ffmpeg
from core.ffmpeg import FFmpegChoice, FFmpegUnusable
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.fakes.media import write_fake_ffmpeg

from .conftest import FAKE_KEYS


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEOGEN_FFMPEG_CHECK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def calls(fake: str) -> list[str]:
    try:
        with open(fake + ".calls", encoding="utf-8") as log:
            return log.read().splitlines()
    except FileNotFoundError:
        return []


def executable(path, text="#!/bin/sh\n"):
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_ffmpeg_binary_wins_then_the_bundled_binary_then_path(monkeypatch, tmp_path):
    mine = executable(tmp_path / "my-ffmpeg")
    on_path = tmp_path / "bin"
    on_path.mkdir()
    executable(on_path / "ffmpeg")
    monkeypatch.setenv("PATH", str(on_path))

    assert _ffmpeg.choose_ffmpeg({"FFMPEG_BINARY": str(mine)}) == FFmpegChoice(
        str(mine), "FFMPEG_BINARY")  # fmt: skip
    assert _ffmpeg.choose_ffmpeg({}) == FFmpegChoice(imageio_ffmpeg.get_ffmpeg_exe(),
                                                     "imageio-ffmpeg")  # fmt: skip
    monkeypatch.setattr(_ffmpeg, "bundled_ffmpeg", lambda: None)
    assert _ffmpeg.choose_ffmpeg({}) == FFmpegChoice(str(on_path / "ffmpeg"), "PATH")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(FFmpegUnusable, match="FFmpeg not found"):
        _ffmpeg.choose_ffmpeg({})


def test_a_missing_ffmpeg_binary_is_refused_naming_the_setting(tmp_path):
    with pytest.raises(FFmpegUnusable) as raised:
        _ffmpeg.choose_ffmpeg({"FFMPEG_BINARY": str(tmp_path / "nope")})
    expected = f"FFMPEG_BINARY={str(tmp_path / 'nope')!r} is not an executable file"
    assert raised.value.message == expected


@pytest.mark.parametrize(("printed", "expected"), [
    ("ffmpeg version 5.1.9-0+deb12u1 Copyright (c)", ("5.1.9-0+deb12u1", (5, 1))),
    ("ffmpeg version 6.1.1-3ubuntu5 Copyright", ("6.1.1-3ubuntu5", (6, 1))),
    ("ffmpeg version n9.0.2-17-g2a571b6068 Copyright", ("n9.0.2-17-g2a571b6068", (9, 0))),
    ("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright", ("4.4.2-0ubuntu0.22.04.1", (4, 4))),
    ("ffmpeg version N-112345-gabcdef Copyright", ("N-112345-gabcdef", None)),
    ("something else", ("", None)),
])  # fmt: skip
def test_versions_are_read_as_ffmpeg_prints_them(printed, expected):
    assert _ffmpeg.parse_version(printed) == expected


def test_the_installed_builds_pass_the_capability_check(ffmpeg_build):
    capability = _ffmpeg.usable_ffmpeg(ffmpeg_build, use_cache=False)
    expected = ffmpeg_build.get("FFMPEG_BINARY") or imageio_ffmpeg.get_ffmpeg_exe()
    assert capability.path == expected
    assert capability.version
    assert not capability.cached


def test_an_ffmpeg_older_than_5_1_is_refused_naming_its_version(tmp_path):
    fake = write_fake_ffmpeg(tmp_path, version="4.4.2-0ubuntu0.22.04.1")
    with pytest.raises(FFmpegUnusable) as raised:
        _ffmpeg.usable_ffmpeg({"FFMPEG_BINARY": fake})
    message = raised.value.message
    assert f"FFmpeg 4.4.2-0ubuntu0.22.04.1 at {fake} (FFMPEG_BINARY) is older than 5.1" in message
    assert "install FFmpeg 5.1 or newer, or unset FFMPEG_BINARY" in message
    assert raised.value.exit_code == 78


def test_an_ffmpeg_that_cannot_run_a_filter_is_refused_naming_the_filter(tmp_path):
    fake = write_fake_ffmpeg(tmp_path, failing="zoompan")
    with pytest.raises(FFmpegUnusable) as raised:
        _ffmpeg.usable_ffmpeg({"FFMPEG_BINARY": fake})
    message = raised.value.message
    assert "cannot run what the scripts need: zoompan (used by local clips" in message
    assert "No such filter: 'zoompan'" in message
    assert "alimiter" not in message  # only what failed


def test_the_loudness_measure_that_ffmpeg_5_1_refused_is_caught_by_the_check(tmp_path):
    """framelog=quiet made FFmpeg 5.1 fail at the first frame; the probe runs the real option."""
    fake = write_fake_ffmpeg(tmp_path, failing=_ffmpeg.LOUDNESS_MEASURE_FILTER)
    with pytest.raises(FFmpegUnusable, match=r"ebur128 \(used by loudness measurement"):
        _ffmpeg.usable_ffmpeg({"FFMPEG_BINARY": fake})


def test_a_passing_check_is_cached_per_binary_until_the_binary_changes(tmp_path):
    fake = write_fake_ffmpeg(tmp_path)
    first = _ffmpeg.usable_ffmpeg({"FFMPEG_BINARY": fake})
    checked = len(calls(fake))
    assert (first.version, first.cached) == ("6.1.1-3ubuntu5", False)
    assert checked == 1 + len(_ffmpeg.PROBES)

    second = _ffmpeg.usable_ffmpeg({"FFMPEG_BINARY": fake})
    assert (second.version, second.cached) == ("6.1.1-3ubuntu5", True)
    assert len(calls(fake)) == checked  # not run again

    status = os.stat(fake)
    os.utime(fake, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    assert not _ffmpeg.usable_ffmpeg({"FFMPEG_BINARY": fake}).cached
    assert len(calls(fake)) == 2 * checked


def test_a_failing_check_is_not_cached(tmp_path):
    fake = write_fake_ffmpeg(tmp_path, failing="aac")
    for _ in range(2):
        with pytest.raises(FFmpegUnusable, match=r"aac \(used by assembly"):
            _ffmpeg.usable_ffmpeg({"FFMPEG_BINARY": fake})
    assert sum(line == "-hide_banner -nostdin -version" for line in calls(fake)) == 2


def test_a_script_refuses_an_old_ffmpeg_with_exit_78_before_calling_the_provider(
    run_script, tmp_path
):
    fake = write_fake_ffmpeg(tmp_path, version="4.4.2")
    key = FAKE_KEYS["ELEVENLABS_API_KEY"]
    with FakeElevenLabs(api_key=key) as eleven:
        run = run_script("generate_sound_effects.py", "--text", "wind", "--output",
                         tmp_path / "s.mp3", env={"FFMPEG_BINARY": fake,
                         "ELEVENLABS_API_KEY": key, "ELEVENLABS_API_BASE": eleven.url})  # fmt: skip
        assert eleven.requests == []
    assert run.returncode == 78, run
    assert "FFmpeg 4.4.2 at" in run.error
    assert "older than 5.1" in run.error
    assert not (tmp_path / "s.mp3").exists()
