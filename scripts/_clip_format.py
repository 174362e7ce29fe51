"""The project's clip format, and bringing a clip to it as it lands.

The format: H.264 yuv420p 1920x1080 at constant 30 fps, our encoder settings (VIDEO_ENCODE_ARGS,
hence the same SPS/PPS as every segment the assembly encodes), our time base, and a short GOP
(closed, a keyframe every _common.CLIP_GOP_FRAMES frames). The clips step brings each clip to it
while the other clips are still being made (one re-encode per clip, off the critical path); the
assembly then copies whole GOPs and re-encodes only the frames past the last keyframe before a
cut (scripts/_segments.py).
"""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

from _common import (
    FRAME_HEIGHT,
    FRAME_RATE,
    FRAME_WIDTH,
    VIDEO_ENCODE_ARGS,
    MediaInfo,
    clip_encode_args,
    probe_media,
    progress,
    run_ffmpeg,
)

OUR_TIME_BASE = Fraction(1, FRAME_RATE * 1000)  # what -video_track_timescale gives our clips


def reference_extradata(directory: Path, ffmpeg: str | None = None) -> bytes:
    """The SPS/PPS our encoder settings produce: a clip carrying exactly these can be joined by
    stream copy with the segments we encode."""
    sample = directory / "reference.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"color=black:s={FRAME_WIDTH}x{FRAME_HEIGHT}:r={FRAME_RATE}",
         "-frames:v", "2", *VIDEO_ENCODE_ARGS, str(sample)],
        what="reference encode", ffmpeg=ffmpeg,
    )  # fmt: skip
    return probe_media(sample, "reference encode").extradata


def could_be_copied(info: MediaInfo) -> bool:
    return (
        info.video_codec == "h264"
        and info.pix_fmt == "yuv420p"
        and (info.width, info.height) == (FRAME_WIDTH, FRAME_HEIGHT)
        and abs(info.frame_rate - FRAME_RATE) < 0.01
    )


def in_project_format(info: MediaInfo, reference: bytes) -> bool:
    """Whether the assembly can copy this clip's GOPs next to segments it encodes itself."""
    return (
        could_be_copied(info)
        and info.extradata == reference
        and info.video_time_base == OUR_TIME_BASE
    )


def format_filter() -> str:
    """The assembly's own picture chain at speed 1 (scripts/_segments.py video_filter), so a
    normalized clip cut later shows the frames the assembly would have made from the original."""
    return (
        f"setpts=PTS-STARTPTS,fps={FRAME_RATE},"
        f"scale={FRAME_WIDTH}:{FRAME_HEIGHT}:force_original_aspect_ratio=decrease,"
        f"pad={FRAME_WIDTH}:{FRAME_HEIGHT}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p"
    )


def normalize_clip(source: Path, destination: Path, *, work: Path, what: str) -> str:
    """Write source to destination in the project's format: one re-encode, or a plain copy when
    it already is in the format. Returns what was done, for the progress line."""
    info = probe_media(source, what)
    if in_project_format(info, reference_extradata(work)):
        shutil.copyfile(source, destination)
        return "already in the project's format: kept as it is"
    frames = round(info.duration * FRAME_RATE)
    run_ffmpeg(
        ["-i", str(source), "-map", "0:v:0", "-vf", format_filter(), "-frames:v", str(frames),
         *clip_encode_args(), "-an", "-movflags", "+faststart", "-f", "mp4", str(destination)],
        what=f"{what}: normalize",
    )  # fmt: skip
    progress(
        f"{what}: {info.width}x{info.height} {info.video_codec} at {info.frame_rate:g} fps "
        f"-> {FRAME_WIDTH}x{FRAME_HEIGHT} at {FRAME_RATE} fps, {frames} frames"
    )
    return "normalized"
