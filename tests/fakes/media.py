"""Small real media files for fakes and tests (made once per process with FFmpeg/Pillow)."""

from __future__ import annotations

import functools
import io
import os
import subprocess
import tempfile


def ffmpeg_binary() -> str:
    """The FFmpeg the scripts would choose (core/ffmpeg.py), unchecked: tests make media."""
    from core.ffmpeg import choose_ffmpeg

    return choose_ffmpeg().path


def _render(arguments: list[str], suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        output = os.path.join(directory, "out" + suffix)
        subprocess.run(
            [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
             *arguments, output],
            check=True,
        )  # fmt: skip
        with open(output, "rb") as handle:
            return handle.read()


@functools.lru_cache
def png_bytes(width: int = 64, height: int = 36, colour=(40, 120, 60), mode: str = "RGB") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new(mode, (width, height), colour if mode == "RGB" else (*colour, 255))
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, width // 2, height // 2), fill="white")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@functools.lru_cache
def jpeg_bytes(width: int = 64, height: int = 36) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


@functools.lru_cache
def mp3_bytes(seconds: float = 1.0, frequency: int = 440) -> bytes:
    return _render(
        ["-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={seconds}:sample_rate=44100",
         "-c:a", "libmp3lame", "-b:a", "64k"],
        ".mp3",
    )  # fmt: skip


@functools.lru_cache
def mp4_bytes(seconds: float = 1.0, size: str = "160x90") -> bytes:
    """A small real H.264 clip, like the ones Kling's CDN serves."""
    return _render(
        ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=24:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
        ".mp4",
    )  # fmt: skip


FAKE_FFMPEG = '''#!{python}
"""A stand-in FFmpeg for tests: claims version {version!r}; fails any command that mentions
{failing!r} the way a build lacking it would; passes everything else to the real binary.
Each call is appended to {calls!r}."""
import os, sys
with open({calls!r}, "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if "-version" in sys.argv:
    print("ffmpeg version {version} Copyright (c) 2000-2024 the FFmpeg developers")
    sys.exit(0)
failing = {failing!r}
if failing and any(failing in argument for argument in sys.argv[1:]):
    print("[AVFilterGraph @ 0x55d0] No such filter: '" + failing + "'", file=sys.stderr)
    print("Error initializing complex filters.", file=sys.stderr)
    sys.exit(8)
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
'''


def write_fake_ffmpeg(directory, *, version: str = "6.1.1-3ubuntu5", failing: str = "") -> str:
    """An executable fake FFmpeg in ``directory`` (see FAKE_FFMPEG); returns its path. Its
    calls are logged to ``<path>.calls``, one line per call."""
    import sys

    from core.ffmpeg import choose_ffmpeg

    real = choose_ffmpeg({}).path  # the bundled binary does the real work
    path = os.path.join(str(directory), f"ffmpeg-{version}{'-no-' + failing if failing else ''}")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(FAKE_FFMPEG.format(python=sys.executable, version=version, failing=failing,
                                        calls=path + ".calls", real=real))  # fmt: skip
    os.chmod(path, 0o755)
    return path
