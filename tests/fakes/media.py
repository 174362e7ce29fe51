"""Small real media files for fakes and tests (made once per process with FFmpeg/Pillow)."""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
import tempfile


def ffmpeg_binary() -> str:
    configured = os.environ.get("FFMPEG_BINARY")
    if configured:
        return configured
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


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
