"""Which FFmpeg the scripts use, and whether it can do everything they ask of it.

Standard library only (no Django), so the scripts (through scripts/_common.py) and the apps
(pipeline/doctor.py, the worker's start-up check) share this one module.

The choice, in order (README, "FFmpeg"):

1. ``FFMPEG_BINARY`` when set (a path, or a name looked up on PATH);
2. the binary bundled by the imageio-ffmpeg package, a known build pinned by requirements.lock;
3. ``ffmpeg`` on PATH.

Whichever is chosen must pass the capability check: its version is at least MINIMUM_VERSION and
every filter, encoder and muxer the scripts use runs on a tiny generated (lavfi) input with the
options the scripts give it. A failure names the filter. A passing result is cached per binary
(real path, size and mtime) in a small file under the user's temporary directory, so a script
call pays ~1 s once per binary, not on every call; a failure is never cached (it is re-checked).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

EX_CONFIG = 78
MINIMUM_VERSION = (5, 1)
CHECK_TIMEOUT_SECONDS = 60
CACHE_FORMAT = 2  # bump when the probes change, so old passes are not trusted

# The loudness measurement: per-frame lines at "verbose" level keep the default output to the
# summary. FFmpeg 5.1 refuses framelog=quiet ("Failed to inject frame into filter network").
LOUDNESS_MEASURE_FILTER = "ebur128=framelog=verbose"


# What FFmpeg (and strerror(ENOSPC)) says when a write fails on a full disk; FFmpeg then ends
# with its statistics and "Conversion failed!", which say nothing of the cause.
NO_SPACE_LEFT = "No space left on device"

# One H.264 recipe for every video we encode (local clips, assembly segments, captions burned
# into a final). Clips encoded with identical settings share their SPS/PPS, which is what lets
# assemble_video.py join them by stream copy instead of re-encoding.
FRAME_RATE = 30
FRAME_WIDTH = 1920
FRAME_HEIGHT = 1080
VIDEO_ENCODE_ARGS = [
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-profile:v", "high",
    "-pix_fmt", "yuv420p", "-r", str(FRAME_RATE), "-g", str(FRAME_RATE * 2),
    "-video_track_timescale", str(FRAME_RATE * 1000),
]  # fmt: skip
# Clips (scripts/_clip_format.py) have a keyframe every half second: a cut in the assembly
# re-encodes at most 14 frames; x264 at this GOP costs ~10 % more bits.
CLIP_GOP_FRAMES = 15


def clip_encode_args(gop_frames: int = CLIP_GOP_FRAMES) -> list[str]:
    """VIDEO_ENCODE_ARGS with a keyframe every gop_frames frames (the SPS/PPS do not change)."""
    arguments = list(VIDEO_ENCODE_ARGS)
    arguments[arguments.index("-g") + 1] = str(gop_frames)
    return arguments


class NoSpaceLeft(Exception):
    """A write failed because the disk holding `path` is full: temporary, never a bad build."""

    def __init__(self, path):
        super().__init__(f"no space left on {path}")
        self.path = path


class FFmpegUnusable(Exception):
    """No usable FFmpeg: the message says which binary, what failed and what to do."""

    exit_code = EX_CONFIG

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FFmpegChoice:
    path: str
    source: str  # "FFMPEG_BINARY", "imageio-ffmpeg" or "PATH"


@dataclass(frozen=True)
class Capability:
    path: str
    source: str
    version: str  # as FFmpeg prints it, e.g. "5.1.9-0+deb12u1"
    seconds: float  # how long the check took (0 when it came from the cache)
    cached: bool = False

    def describe(self) -> str:
        return f"FFmpeg {self.version} at {self.path} ({self.source})"


# --------------------------------------------------------------------------- the choice


def bundled_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # not installed, or its binary missing for this platform
        return None


def choose_ffmpeg(environ=None) -> FFmpegChoice:
    environ = os.environ if environ is None else environ
    configured = environ.get("FFMPEG_BINARY", "").strip()
    if configured:
        resolved = shutil.which(configured)
        if not resolved:
            raise FFmpegUnusable(f"FFMPEG_BINARY={configured!r} is not an executable file")
        return FFmpegChoice(resolved, "FFMPEG_BINARY")
    bundled = bundled_ffmpeg()
    if bundled:
        return FFmpegChoice(bundled, "imageio-ffmpeg")
    on_path = shutil.which("ffmpeg")
    if on_path:
        return FFmpegChoice(on_path, "PATH")
    raise FFmpegUnusable(
        "FFmpeg not found: install the lock (it bundles imageio-ffmpeg), install FFmpeg "
        f"{'.'.join(map(str, MINIMUM_VERSION))} or newer on PATH, or set FFMPEG_BINARY"
    )


# --------------------------------------------------------------------------- the version

_VERSION = re.compile(r"^ffmpeg version (\S+)", re.MULTILINE)
_NUMBERS = re.compile(r"^n?(\d+)\.(\d+)")


def parse_version(text: str) -> tuple[str, tuple[int, int] | None]:
    """("5.1.9-0+deb12u1", (5, 1)); a git build ("N-112345-g...") has no number: (text, None)."""
    found = _VERSION.search(text)
    if not found:
        return "", None
    version = found.group(1)
    numbers = _NUMBERS.match(version)
    return version, (int(numbers.group(1)), int(numbers.group(2))) if numbers else None


def _run(path: str, arguments: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [path, "-hide_banner", "-nostdin", *arguments],
            capture_output=True, text=True, errors="replace", timeout=CHECK_TIMEOUT_SECONDS,
        )  # fmt: skip
    except subprocess.TimeoutExpired as error:
        raise FFmpegUnusable(
            f"{path} did not finish {' '.join(arguments[:6])}... within {CHECK_TIMEOUT_SECONDS} s"
        ) from error
    except OSError as error:
        raise FFmpegUnusable(f"{path} cannot be run: {error}") from error


def ffmpeg_version(path: str) -> tuple[str, tuple[int, int] | None]:
    completed = _run(path, ["-version"])
    version, numbers = parse_version(completed.stdout)
    if completed.returncode != 0 or not version:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FFmpegUnusable(f"{path} -version failed (exit {completed.returncode}): {tail[0]}")
    return version, numbers


# --------------------------------------------------------------------------- the probes

_SINE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=44100"]
_COLOUR = ["-f", "lavfi", "-i", "color=c=green:s=320x180:r=30:d=0.2"]
_NULL = ["-f", "null", "-"]


@dataclass(frozen=True)
class Probe:
    name: str  # the filter, encoder or muxer, as the failure message names it
    used_by: str
    arguments: tuple[str, ...]
    expect_in_stderr: str = ""


def _audio(name, used_by, graph, *, output=_NULL, expect=""):
    return Probe(name, used_by, (*_SINE, "-af", graph, *output), expect)


def _video(name, used_by, graph, *, output=_NULL):
    return Probe(name, used_by, (*_COLOUR, "-vf", graph, *output))


# Every filter, encoder and muxer that scripts/*.py give FFmpeg, with the options they use.
# Output files go to the probe's own temporary directory ({dir}).
PROBES = (
    _audio("ebur128", "loudness measurement (sfx, assembly)", LOUDNESS_MEASURE_FILTER,
           expect="Integrated loudness"),
    _audio("volume", "loudness normalization", "volume=-3.00dB"),
    _audio("alimiter", "loudness normalization",
           "alimiter=limit=0.8414:level=false:latency=true:attack=5:release=60"),
    _audio("anull", "loudness normalization of silence", "anull"),
    _audio("lowpass", "local speech and sound effects", "lowpass=f=3400"),
    _audio("highpass", "local sound effects", "highpass=f=800"),
    _audio("bandpass", "local sound effects", "bandpass=f=600:width_type=o:w=2"),
    _audio("afade", "local audio, music mix", "afade=t=in:d=0.1,afade=t=out:st=0.8:d=0.1"),
    _audio("atrim, asetpts", "local sound effects", "atrim=0:0.5,asetpts=N/SR/TB"),
    _audio("aresample, aformat", "assembly",
           "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"),
    _audio("apad, atrim end_sample", "assembly", "apad,atrim=end_sample=48000"),
    Probe("anoisesrc", "local sound effects",
          ("-f", "lavfi", "-i", "anoisesrc=d=0.3:c=pink:r=44100:a=0.5:seed=7", *_NULL)),
    Probe("aevalsrc", "local speech and sound effects",
          ("-f", "lavfi", "-i", "aevalsrc='0.5*sin(2*PI*220*t)':s=44100:d=0.3", *_NULL)),
    Probe("anullsrc", "assembly (a clip without audio)",
          ("-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "0.2", *_NULL)),
    Probe("asplit, sidechaincompress, amix", "assembly (ducking sfx and music)",
          (*_SINE, "-f", "lavfi", "-i", "anoisesrc=d=1:c=pink:r=44100:a=0.5", "-filter_complex",
           "[0:a]asplit=2[voice][key];[1:a]volume=-10dB[effect];"
           "[effect][key]sidechaincompress=threshold=0.02:ratio=6:attack=20:release=400[ducked];"
           "[voice][ducked]amix=inputs=2:normalize=0:duration=first[out]",
           "-map", "[out]", *_NULL)),
    _audio("libmp3lame", "local speech, sound effects", "anull",
           output=("-c:a", "libmp3lame", "-ar", "44100", "-b:a", "128k", "-f", "mp3",
                   "{dir}/probe.mp3")),
    _audio("aac", "assembly (final mux)", "anull",
           output=("-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-f", "mp4",
                   "-movflags", "+faststart", "{dir}/probe.m4a")),
    _audio("pcm_s16le", "assembly segments", "anull",
           output=("-c:a", "pcm_s16le", "-ar", "48000", "{dir}/probe.wav")),
    _video("scale, crop", "local clips", "scale=480:270:force_original_aspect_ratio=increase,"
           "crop=480:270"),
    _video("zoompan", "local clips (the local video provider)",
           "zoompan=z='1+0.15*(on/5)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=6"
           ":s=320x180:fps=30,setsar=1,format=yuv420p"),
    _video("setpts, fps, pad, tpad", "assembly (fitting a clip to its narration)",
           "setpts=1.100000*(PTS-STARTPTS),fps=30,scale=320:180:force_original_aspect_ratio="
           "decrease,pad=320:180:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,"
           "tpad=stop_mode=clone:stop_duration=0.5"),
    # Not a script's, but the worker's: the cut check (pipeline/cut_check.py), one pass.
    _video("blackdetect, freezedetect", "the cut check",
           "scale=160:90:flags=fast_bilinear,blackdetect=d=0.5:pix_th=0.1,"
           "freezedetect=n=0.001:d=2"),
    _audio("silencedetect, ebur128 peak, astats, ametadata", "the cut check",
           "silencedetect=n=-50dB:d=2,ebur128=peak=true:framelog=verbose,"
           "asetnsamples=n=4800,astats=metadata=1:reset=1,"
           "ametadata=mode=print:key=lavfi.astats.Overall.Peak_level:file={dir}/peaks.txt"),
    _video("libx264", "local clips, assembly", "format=yuv420p",
           output=(*VIDEO_ENCODE_ARGS, "-movflags", "+faststart", "{dir}/probe.mp4")),
)


def _run_probe(path: str, probe: Probe, directory: str) -> str | None:
    """None when the probe passes, else the failure message naming the filter."""
    arguments = [argument.replace("{dir}", directory) for argument in probe.arguments]
    completed = _run(path, ["-nostats", "-y", *arguments])
    if completed.returncode == 0 and probe.expect_in_stderr in completed.stderr:
        return None
    if NO_SPACE_LEFT in completed.stderr:
        raise NoSpaceLeft(directory)
    lines = [line for line in completed.stderr.strip().splitlines() if line.strip()]
    tail = " | ".join(lines[-3:]) or "no output"
    if completed.returncode == 0:
        tail = f"it printed no {probe.expect_in_stderr!r}"
    return f"{probe.name} (used by {probe.used_by}) failed: {tail}"


def check_capability(choice: FFmpegChoice, probes=PROBES) -> Capability:
    """Run the version check and every probe; raise FFmpegUnusable naming what failed."""
    started = time.monotonic()
    version, numbers = ffmpeg_version(choice.path)
    minimum = ".".join(map(str, MINIMUM_VERSION))
    if numbers is not None and numbers < MINIMUM_VERSION:
        raise FFmpegUnusable(
            f"FFmpeg {version} at {choice.path} ({choice.source}) is older than {minimum}, the "
            f"oldest videogen supports: install FFmpeg {minimum} or newer, or "
            + ("unset FFMPEG_BINARY to use the binary bundled by imageio-ffmpeg"
               if choice.source == "FFMPEG_BINARY"
               else "set FFMPEG_BINARY to a newer build")
        )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="videogen-ffmpeg-check-") as directory:
        with ThreadPoolExecutor(max_workers=4) as pool:
            failures = [
                failure
                for failure in pool.map(lambda probe: _run_probe(choice.path, probe, directory),
                                        probes)  # fmt: skip
                if failure
            ]
    if failures:
        raise FFmpegUnusable(
            f"FFmpeg {version} at {choice.path} ({choice.source}) cannot run what the scripts "
            f"need: {'; '.join(failures)}. Use another build (FFMPEG_BINARY, or unset it for "
            "the bundled imageio-ffmpeg binary)"
        )
    return Capability(choice.path, choice.source, version, round(time.monotonic() - started, 3))


# --------------------------------------------------------------------------- the cache


def cache_directory() -> Path:
    configured = os.environ.get("VIDEOGEN_FFMPEG_CHECK_CACHE", "").strip()
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"videogen-ffmpeg-check-{os.getuid()}"


def _cache_file(path: str) -> Path:
    real = os.path.realpath(path)
    status = os.stat(real)
    key = f"{CACHE_FORMAT}\0{real}\0{status.st_size}\0{status.st_mtime_ns}"
    return cache_directory() / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def _cached(choice: FFmpegChoice) -> Capability | None:
    with contextlib.suppress(OSError, ValueError, TypeError):
        file = _cache_file(choice.path)
        if file.stat().st_uid != os.getuid():  # someone else's file in a shared tmp: ignore
            return None
        stored = json.loads(file.read_text(encoding="utf-8"))
        return Capability(choice.path, choice.source, stored["version"], 0.0, cached=True)
    return None


def _remember(capability: Capability) -> None:
    with contextlib.suppress(OSError):
        file = _cache_file(capability.path)
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = file.with_name(f".{file.name}.{os.getpid()}")
        temporary.write_text(json.dumps(asdict(capability)), encoding="utf-8")
        os.replace(temporary, file)


def usable_ffmpeg(environ=None, *, use_cache: bool = True) -> Capability:
    """The FFmpeg the scripts will use, checked (from the cache when it passed before)."""
    choice = choose_ffmpeg(environ)
    if use_cache:
        cached = _cached(choice)
        if cached is not None:
            return cached
    capability = check_capability(choice)
    _remember(capability)
    return capability
