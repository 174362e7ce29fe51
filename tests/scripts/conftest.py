"""Fixtures for the script tests: run a script as a subprocess, probe what it made.

No database, no network: real providers are local fakes (tests/fakes), local providers make
real media with FFmpeg. The tests of scripts that run FFmpeg run once per FFmpeg build present:
the bundled imageio-ffmpeg binary always, Debian's /usr/bin/ffmpeg when installed (with CI=true a
missing /usr/bin/ffmpeg fails instead of skipping: CI installs it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.media import ffmpeg_binary

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:  # so tests can `import _common` like the scripts do
    sys.path.insert(0, str(SCRIPTS))

# Recognizable fake secrets: every run asserts none of them leaks into its output.
FAKE_KEYS = {
    "GEMINI_API_KEY": "sk-FAKE-gemini-5ecret-71c3",
    "KIE_API_KEY": "sk-FAKE-kie-5ecret-92ab",
    "ELEVENLABS_API_KEY": "sk-FAKE-eleven-5ecret-44de",
}
VOICE_ID = "voiceFAKE123"
CLEARED = re.compile(
    r"^(VIDEOGEN_|GEMINI_|KIE_|ELEVENLABS_|CATBOX_|FFMPEG_BINARY$|https?_proxy$|HTTPS?_PROXY$"
    r"|all_proxy$|ALL_PROXY$)"
)


@dataclass
class ScriptRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict:
        """The JSON line: last stdout line on success, last stderr line on failure."""
        stream = self.stdout if self.returncode == 0 else self.stderr
        lines = [line for line in stream.strip().splitlines() if line.strip()]
        assert lines, f"no output at all (exit {self.returncode})\nstderr: {self.stderr}"
        return json.loads(lines[-1])

    @property
    def error(self) -> str:
        return self.result["error"]

    def __repr__(self) -> str:
        return (
            f"exit {self.returncode}\nstdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-2000:]}"
        )


# Test modules whose scripts run FFmpeg; their tests run once per build in FFMPEG_BUILDS.
FFMPEG_MODULES = {"test_assemble_video", "test_generate_audio", "test_generate_sound_effects",
                  "test_generate_video", "test_ffmpeg", "test_clip_format"}  # fmt: skip
SYSTEM_FFMPEG = Path("/usr/bin/ffmpeg")
FFMPEG_BUILDS = ("bundled", "system")


def pytest_generate_tests(metafunc):
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module in FFMPEG_MODULES and "ffmpeg_build" in metafunc.fixturenames:
        metafunc.parametrize("ffmpeg_build", FFMPEG_BUILDS, indirect=True)


@pytest.fixture
def ffmpeg_build(request) -> dict[str, str]:
    """The environment that picks one FFmpeg build: nothing for the bundled binary (the default
    choice), FFMPEG_BINARY=/usr/bin/ffmpeg for the system one."""
    build = getattr(request, "param", "bundled")
    if build == "bundled":
        return {}
    if not SYSTEM_FFMPEG.exists():
        message = f"{SYSTEM_FFMPEG} is not installed (apt-get install ffmpeg)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI installs Debian's FFmpeg, but {message}")
        pytest.skip(message)
    return {"FFMPEG_BINARY": str(SYSTEM_FFMPEG)}


@pytest.fixture
def script_env(tmp_path, ffmpeg_build) -> dict[str, str]:
    """A clean environment: no real keys or base URLs leak in; fast timeouts and polls; the
    FFmpeg build under test."""
    env = {name: value for name, value in os.environ.items() if not CLEARED.match(name)}
    env.update(ffmpeg_build)
    env.update(
        VIDEOGEN_HTTP_TIMEOUT="3",
        KIE_POLL_INTERVAL="0.02",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=str(REPO),  # as the runner sets it: the scripts import the core package
        no_proxy="*",
    )
    return env


@pytest.fixture
def run_script(script_env):
    def run(name: str, *args, env: dict | None = None, timeout: float = 120) -> ScriptRun:
        arguments = [str(argument) for argument in args]
        merged = {**script_env, **(env or {})}
        completed = subprocess.run(
            [sys.executable, str(SCRIPTS / name), *arguments],
            env=merged,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        outcome = ScriptRun(arguments, completed.returncode, completed.stdout, completed.stderr)
        for key in FAKE_KEYS.values():
            assert key not in " ".join(arguments)
            assert key not in completed.stdout, f"API key leaked to stdout: {outcome!r}"
            assert key not in completed.stderr, f"API key leaked to stderr: {outcome!r}"
        return outcome

    return run


# --------------------------------------------------------------------------- media helpers


@pytest.fixture
def write_png(tmp_path):
    def write(name: str, size=(640, 360), colour=(40, 120, 60), mode="RGB") -> Path:
        from PIL import Image, ImageDraw

        image = Image.new(mode, size, colour if mode == "RGB" else (*colour[:3], 255))
        draw = ImageDraw.Draw(image)
        draw.rectangle((size[0] // 3, size[1] // 3, size[0] // 2, size[1] // 2), fill="white")
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
        return path

    return write


@dataclass
class Probe:
    duration: float
    width: int
    height: int
    has_video: bool
    has_audio: bool
    video_codec: str
    pix_fmt: str
    frame_rate: float
    audio_duration: float


def probe(path) -> Probe:
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = (container.duration or 0) / 1_000_000
        audio_duration = 0.0
        if audio is not None and audio.duration:
            audio_duration = float(audio.duration * audio.time_base)
        if video is not None and video.duration:
            duration = float(video.duration * video.time_base)
        return Probe(
            duration,
            video.codec_context.width if video else 0,
            video.codec_context.height if video else 0,
            video is not None,
            audio is not None,
            video.codec_context.name if video else "",
            video.codec_context.format.name if video else "",
            float(video.average_rate) if video else 0.0,
            audio_duration or (duration if video is None else 0.0),
        )


def frames_as_arrays(path, count: int = 5):
    """``count`` evenly spaced frames as small grey images, and the number of frames."""
    import av

    with av.open(str(path)) as container:
        total = container.streams.video[0].frames
        wanted = {round(index * (total - 1) / max(1, count - 1)) for index in range(count)}
        frames, decoded = [], 0
        for decoded, frame in enumerate(container.decode(video=0), start=1):
            if decoded - 1 in wanted:
                frames.append(frame.to_image().convert("L").resize((192, 108)))
    assert decoded == total, f"{path}: {decoded} frames decoded, container says {total}"
    return frames, total


def mean_difference(first, second) -> float:
    from PIL import ImageChops, ImageStat

    return ImageStat.Stat(ImageChops.difference(first, second)).mean[0]


def integrated_loudness(path) -> float:
    """EBU R128 integrated loudness (LUFS) measured by FFmpeg's ebur128 filter."""
    completed = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-nostats", "-i", str(path), "-vn",
         "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = completed.stderr.rsplit("Summary:", 1)[-1]
    return float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary).group(1))


def decode_errors(path) -> str:
    completed = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    return completed.stderr.strip()
