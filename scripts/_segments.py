"""The video side of the assembly: how long each clip lasts (plan) and its video segments.

A clip in the project's format (scripts/_clip_format.py) is never decoded and re-encoded whole:
  - at its own length (within a frame or so): copied;
  - cut shorter: its whole GOPs before the cut are copied, and only the frames from the last
    keyframe before the cut up to the cut are re-encoded (at most a GOP, half a second).
Any other clip (another encoder's, another rate or size, or one to slow down) is re-encoded as
one segment. Every segment has the same SPS/PPS, so the concat demuxer joins them by stream copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _clip_format import OUR_TIME_BASE, could_be_copied, in_project_format
from _common import (
    FRAME_HEIGHT,
    FRAME_RATE,
    FRAME_WIDTH,
    VIDEO_ENCODE_ARGS,
    MediaInfo,
    run_ffmpeg,
)

MAX_SLOWDOWN = 1.25
# A clip within this many frames of its narration is used at its own length (no re-encode).
COPY_TOLERANCE_FRAMES = 1.5


@dataclass
class Clip:
    number: int
    video: Path
    audio: Path | None = None
    sfx: Path | None = None
    duration: float | None = None
    video_info: MediaInfo | None = None
    audio_info: MediaInfo | None = None
    sfx_info: MediaInfo | None = None
    frames: int = 0
    copy: bool = False  # used at its own length, by stream copy
    cut: bool = False  # in the project's format and cut shorter: GOPs copied, the tail encoded
    keyframes: list[int] = field(default_factory=list)
    scene: str | None = None  # the storyboard's scene id, for the cut record

    @property
    def target_seconds(self) -> float:
        if self.duration is not None:
            return self.duration
        if self.audio_info is not None:
            return self.audio_info.duration
        return self.video_info.duration

    @property
    def own_frames(self) -> int:
        return round(self.video_info.duration * FRAME_RATE)


def fits_as_is(clip: Clip) -> bool:
    """Already 1080p30 H.264 yuv420p and within a frame or so of its target length."""
    return could_be_copied(clip.video_info) and (
        abs(clip.own_frames - clip.target_seconds * FRAME_RATE) <= COPY_TOLERANCE_FRAMES
    )


def plan(clips: list[Clip], reference: Callable[[], bytes]) -> None:
    """Decide each clip's exact frame count, and whether it is copied, cut or re-encoded.

    Copied clips must carry the same SPS/PPS as every other segment. When all clips fit as they
    are and share theirs, nothing is encoded and no reference is needed; otherwise a clip is
    copied or cut only if it is in the project's format (``reference``: our encoder's SPS/PPS).

    Frame counts follow the running total of target durations, so rounding to whole frames
    never drifts by more than half a frame over the whole video."""
    candidates = [fits_as_is(clip) for clip in clips]
    if all(candidates) and len({clip.video_info.extradata for clip in clips}) == 1:
        parameter_sets = clips[0].video_info.extradata
    elif any(could_be_copied(clip.video_info) for clip in clips):
        parameter_sets = reference()
    else:
        parameter_sets = None
    wanted_total = 0.0
    frames_total = 0
    for clip, candidate in zip(clips, candidates, strict=True):
        if candidate and clip.video_info.extradata == parameter_sets:
            clip.copy, clip.frames = True, clip.own_frames
            wanted_total += clip.frames / FRAME_RATE
        else:
            wanted_total += clip.target_seconds
            clip.frames = max(1, round(wanted_total * FRAME_RATE) - frames_total)
            clip.cut = (
                parameter_sets is not None
                and clip.frames < clip.own_frames
                and in_project_format(clip.video_info, parameter_sets)
            )
        frames_total += clip.frames


def slowdown_of(clip: Clip) -> float:
    """How much a clip shorter than its slot is slowed (1.0 to MAX_SLOWDOWN)."""
    if clip.copy or clip.cut:
        return 1.0
    return min(MAX_SLOWDOWN, max(1.0, clip.frames / FRAME_RATE / clip.video_info.duration))


def held_seconds(clip: Clip) -> float:
    """How long the clip's last frame is held after its (slowed) picture ends."""
    if clip.copy or clip.cut:
        return 0.0
    return max(0.0, clip.frames / FRAME_RATE - clip.video_info.duration * slowdown_of(clip))


def video_filter(clip: Clip) -> str:
    """Scale/pad to 1080p, constant 30 fps; slow a short clip (up to 1.25x), then hold its
    last frame; -frames:v cuts a long one."""
    seconds = clip.frames / FRAME_RATE
    slowdown = slowdown_of(clip)
    return (
        f"setpts={slowdown:.6f}*(PTS-STARTPTS),fps={FRAME_RATE},"
        f"scale={FRAME_WIDTH}:{FRAME_HEIGHT}:force_original_aspect_ratio=decrease,"
        f"pad={FRAME_WIDTH}:{FRAME_HEIGHT}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,"
        f"tpad=stop_mode=clone:stop_duration={seconds + 1:.3f}"
    )


def keyframe_indices(path: Path) -> list[int]:
    """Frame numbers of the clip's keyframes, from its packets (nothing decoded)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        return sorted(
            round(float((packet.pts - start) * stream.time_base) * FRAME_RATE)
            for packet in container.demux(stream)
            if packet.is_keyframe and packet.pts is not None
        )


def make_video_segments(clip: Clip, work: Path, ffmpeg: str) -> tuple[list[Path], str]:
    """The clip's video segments, in order, and how they were made (for the progress line)."""
    stem = work / f"clip-{clip.number:05d}"
    if clip.copy and not clip.video_info.has_audio and (
        clip.video_info.video_time_base == OUR_TIME_BASE
    ):
        return [clip.video], "used as it is"  # e.g. a local clip: the concat reads it directly
    if clip.copy:
        _copy_frames(clip, None, stem.with_suffix(".mp4"), ffmpeg)
        return [stem.with_suffix(".mp4")], "copied"
    own, wanted = clip.video_info.duration, clip.frames / FRAME_RATE
    if clip.cut:
        return _cut(clip, stem, ffmpeg), f"cut {own:.2f} -> {wanted:.2f} s"
    destination = stem.with_suffix(".mp4")
    run_ffmpeg(
        ["-i", str(clip.video), "-map", "0:v:0", "-vf", video_filter(clip),
         "-frames:v", str(clip.frames), *VIDEO_ENCODE_ARGS, "-an", str(destination)],
        what=f"clip {clip.number}: video", ffmpeg=ffmpeg,
    )  # fmt: skip
    verb = "trimmed" if wanted < own - 0.02 else "extended" if wanted > own + 0.02 else "re-encoded"
    return [destination], f"{verb} {own:.2f} -> {wanted:.2f} s"


def _copy_frames(clip: Clip, frames: int | None, destination: Path, ffmpeg: str) -> None:
    """The clip's first `frames` frames (all when None) by stream copy. GOPs are closed, so the
    first n packets in decoding order are exactly the first n frames when n is a keyframe."""
    limit = ["-frames:v", str(frames)] if frames is not None else []
    run_ffmpeg(
        ["-i", str(clip.video), "-map", "0:v:0", "-c", "copy", "-an", *limit,
         "-video_track_timescale", str(FRAME_RATE * 1000), str(destination)],
        what=f"clip {clip.number}: copy", ffmpeg=ffmpeg,
    )  # fmt: skip


def _cut(clip: Clip, stem: Path, ffmpeg: str) -> list[Path]:
    """Whole GOPs up to the last keyframe at or before the cut, copied; the frames from there to
    the cut, re-encoded (none when the cut lands on a keyframe)."""
    last = max((k for k in keyframe_indices(clip.video) if k <= clip.frames), default=0)
    segments = []
    if last > 0:
        head = stem.with_name(stem.name + "-gops.mp4")
        _copy_frames(clip, last, head, ffmpeg)
        segments.append(head)
    if last < clip.frames:
        tail = stem.with_name(stem.name + "-tail.mp4")
        # Seek to half a frame before the keyframe: FFmpeg starts decoding at that keyframe (or
        # the one before) and drops every frame before the seek point, so the first frame out
        # is the keyframe's, whatever the rounding of its timestamp; its timestamps then start
        # at zero (not half a frame in), so the segment lasts exactly its frames.
        seek = ["-ss", f"{(last - 0.5) / FRAME_RATE:.6f}"] if last > 0 else []
        run_ffmpeg(
            [*seek, "-i", str(clip.video), "-map", "0:v:0", "-vf", "setpts=PTS-STARTPTS",
             "-frames:v", str(clip.frames - last), *VIDEO_ENCODE_ARGS, "-an", str(tail)],
            what=f"clip {clip.number}: cut", ffmpeg=ffmpeg,
        )  # fmt: skip
        segments.append(tail)
    return segments
