#!/usr/bin/env python3
"""Join the clips of one video, each fitted to its narration, into the final MP4.

    assemble_video.py --manifest JSON --output MP4 [--jobs N]

Manifest (relative paths resolve against the manifest's directory):

    {"clips": [{"clip_number": 1, "video": "videos/s01.mp4", "audio": "audio/s01.mp3",
                "sfx": "sfx/s01.mp3", "duration": 9.5}, ...],
     "music": "music.mp3"  or  {"path": "music.mp3", "volume_db": -20}}

Clips play in clip_number order. Each clip lasts its "duration" when given, else its narration's
length, else (no audio) its own length: a longer clip is trimmed; a shorter one is slowed down
(up to 1.25x) and then holds its last frame. The clip's own audio track is not used. Sound
effects sit 10 dB under the narration and are ducked further while it speaks; music sits 20 dB
under and is ducked the same way. The mix is measured (EBU R128) and brought to -14 LUFS
integrated by a linear gain with a peak limiter at -1.5 dBFS. Output: H.264 yuv420p 1920x1080 at
constant 30 fps, AAC 48 kHz (mono when every source is mono, else stereo), +faststart.

How it stays fast and flat in memory: every clip becomes video segments and one PCM audio
segment of exactly the same length (a whole number of frames), made by small FFmpeg processes
per clip (at most --jobs clips at a time, default 2). A clip in the project's format (the clips
step leaves them so: scripts/_clip_format.py) is not re-encoded: at its length it is used as it
is (or remuxed); cut shorter, its whole GOPs are copied and only the frames past the last
keyframe before the cut are encoded (scripts/_segments.py). The segments are then joined by the
concat demuxer with stream copy, and the audio is measured once and normalized and encoded in
the final pass.
Nothing holds more than one clip at a time, so memory does not grow with the clip count.

Beside the output the script writes its cut record, <output stem>.cut.json, before the final
mux (so a finished video always has one): where each clip starts and ends in the cut (in frames,
as assembled), its narration's length, and how it was fitted (slowed by how much, its last frame
held for how long). Captions, chapters and the cut check read the scene boundaries from it instead
of guessing them. A clip's optional "scene" key (the storyboard's scene id) is carried into it.

Every file is checked before any encoding starts: a missing or unreadable file, or a malformed
manifest, is exit 65 naming the clip number and the path (or the JSON line and column).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _clip_format import reference_extradata
from _common import (
    FRAME_RATE,
    MediaInfo,
    ScriptError,
    atomic_output,
    emit_result,
    find_ffmpeg,
    input_error,
    loudness_filter,
    measure_loudness,
    probe_media,
    progress,
    run_ffmpeg,
    work_directory,
)
from _segments import Clip, held_seconds, make_video_segments, plan, slowdown_of

TARGET_LUFS = -14.0
TRUE_PEAK = -1.5
SAMPLE_RATE = 48000
SAMPLES_PER_FRAME = SAMPLE_RATE // FRAME_RATE
SFX_GAIN_DB = -10.0
MUSIC_GAIN_DB = -20.0
MAX_CLIP_SECONDS = 600.0
DUCKING = "sidechaincompress=threshold=0.02:ratio=6:attack=20:release=400"


def audio_format(channels: int) -> str:
    layout = "mono" if channels == 1 else "stereo"
    return f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts={layout}"


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--jobs", type=int, default=None, help="clips fitted at once (default 2)")
    parser.add_argument("--provider", default=None, help="ignored: this script is always local")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- the manifest


def load_manifest(path: Path) -> tuple[list[Clip], Path | None, float]:
    if not path.is_file():
        raise input_error(f"--manifest {path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise input_error(f"--manifest {path}: not readable ({error})") from error
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise input_error(
            f"{path}: malformed JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from error
    if not isinstance(document, dict):
        raise input_error(f'{path}: the manifest must be a JSON object with a "clips" list')
    raw_clips = document.get("clips")
    if not isinstance(raw_clips, list) or not raw_clips:
        raise input_error(f'{path}: "clips" must be a non-empty list')

    base = path.parent
    problems: list[str] = []
    clips: list[Clip] = []
    seen: dict[int, int] = {}
    for index, raw in enumerate(raw_clips):
        where = f"clips[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be an object")
            continue
        number = raw.get("clip_number")
        if isinstance(number, bool) or not isinstance(number, int):
            problems.append(f"{where}.clip_number: must be an integer, got {number!r}")
            continue
        where = f"clip {number} ({where})"
        if number in seen:
            problems.append(f"{where}: clip_number {number} repeats clips[{seen[number]}]")
        seen[number] = index
        paths = {}
        for key, required in (("video", True), ("audio", False), ("sfx", False)):
            value = raw.get(key)
            if value is None:
                if required:
                    problems.append(f'{where}: missing key "{key}"')
                continue
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}.{key}: must be a path, got {value!r}")
                continue
            paths[key] = (base / value).resolve() if not os.path.isabs(value) else Path(value)
        duration = raw.get("duration")
        if duration is not None and (
            isinstance(duration, bool)
            or not isinstance(duration, int | float)
            or not 0 < duration <= MAX_CLIP_SECONDS
        ):
            problems.append(
                f"{where}.duration: must be seconds between 0 and {MAX_CLIP_SECONDS:g}, "
                f"got {duration!r}"
            )
            duration = None
        scene = raw.get("scene")
        if scene is not None and not isinstance(scene, str | int):
            problems.append(f"{where}.scene: must be a scene id, got {scene!r}")
            scene = None
        if "video" in paths:
            clips.append(Clip(number, paths["video"], paths.get("audio"), paths.get("sfx"),
                              float(duration) if duration is not None else None,
                              scene=str(scene) if scene is not None else None))  # fmt: skip

    music = document.get("music")
    music_path, music_gain = None, MUSIC_GAIN_DB
    if isinstance(music, dict):
        music_gain = music.get("volume_db", MUSIC_GAIN_DB)
        if isinstance(music_gain, bool) or not isinstance(music_gain, int | float):
            problems.append(f"music.volume_db: must be a number of dB, got {music_gain!r}")
            music_gain = MUSIC_GAIN_DB
        music = music.get("path")
        if music is None:
            problems.append('music: missing key "path"')
    if music is not None:
        if isinstance(music, str) and music.strip():
            music_path = (base / music).resolve() if not os.path.isabs(music) else Path(music)
        else:
            problems.append(f"music: must be a path, got {music!r}")
    if problems:
        raise input_error(f"{path}: " + "; ".join(problems))
    clips.sort(key=lambda clip: clip.number)
    return clips, music_path, float(music_gain)


def probe_inputs(clips: list[Clip], music: Path | None) -> MediaInfo | None:
    """Check every file before anything is encoded; report every problem at once."""
    problems: list[str] = []
    for clip in clips:
        for key in ("video", "audio", "sfx"):
            path = getattr(clip, key)
            if path is None:
                continue
            try:
                info = probe_media(path, f"clip {clip.number}: {key}", decode=False)
            except ScriptError as error:
                problems.append(error.message)
                continue
            if key == "video" and not info.has_video:
                problems.append(f"clip {clip.number}: video: {path}: has no video stream")
            elif key != "video" and not info.has_audio:
                problems.append(f"clip {clip.number}: {key}: {path}: has no audio stream")
            elif key == "video":
                clip.video_info = info
            elif key == "audio":
                clip.audio_info = info
            else:
                clip.sfx_info = info
    music_info = None
    if music is not None:
        try:
            music_info = probe_media(music, "music", decode=False)
            if not music_info.has_audio:
                problems.append(f"music: {music}: has no audio stream")
        except ScriptError as error:
            problems.append(error.message)
    if problems:
        raise input_error("; ".join(problems))
    return music_info


def cut_record(clips: list[Clip], music: Path | None, music_gain: float) -> dict:
    """The cut as assembled: each clip's place in frames and how it was fitted."""
    entries, start = [], 0
    for clip in clips:
        entries.append({
            "clip_number": clip.number,
            "scene": clip.scene,
            "start_frame": start,
            "frames": clip.frames,
            "start": round(start / FRAME_RATE, 6),
            "end": round((start + clip.frames) / FRAME_RATE, 6),
            "narration_seconds": (round(clip.audio_info.duration, 6)
                                  if clip.audio_info is not None else None),
            "clip_seconds": round(clip.video_info.duration, 6),
            "slowdown": round(slowdown_of(clip), 6),
            "held_seconds": round(held_seconds(clip), 6),
        })  # fmt: skip
        start += clip.frames
    return {
        "frame_rate": FRAME_RATE,
        "frames": start,
        "seconds": round(start / FRAME_RATE, 6),
        "music": {"path": str(music), "volume_db": music_gain} if music else None,
        "clips": entries,
    }


def cut_record_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.cut.json")


def make_audio_segment(clip: Clip, destination: Path, channels: int, ffmpeg: str) -> None:
    """Narration plus ducked sfx as PCM, exactly as long as the clip's video segment."""
    samples = clip.frames * SAMPLES_PER_FRAME
    inputs: list[str] = []
    labels: list[str] = []
    for path in (clip.audio, clip.sfx):
        if path is not None:
            labels.append(f"[{len(inputs) // 2}:a]")
            inputs += ["-i", str(path)]
    fit = f"apad,atrim=end_sample={samples}"
    shape = audio_format(channels)
    if clip.audio is not None and clip.sfx is not None:
        graph = (
            f"{labels[0]}{shape},{fit},asplit=2[voice][key];"
            f"{labels[1]}{shape},volume={SFX_GAIN_DB}dB,{fit}[effect];"
            f"[effect][key]{DUCKING}[ducked];"
            "[voice][ducked]amix=inputs=2:normalize=0:duration=first[out]"
        )
    elif clip.audio is not None:
        graph = f"{labels[0]}{shape},{fit}[out]"
    elif clip.sfx is not None:
        graph = f"{labels[0]}{shape},volume={SFX_GAIN_DB}dB,{fit}[out]"
    else:
        inputs = ["-f", "lavfi", "-i", f"anullsrc=r={SAMPLE_RATE}:cl=stereo"]
        graph = f"[0:a]{shape},atrim=end_sample={samples}[out]"
    run_ffmpeg(
        [*inputs, "-filter_complex", graph, "-map", "[out]", "-c:a", "pcm_s16le",
         "-ar", str(SAMPLE_RATE), str(destination)],
        what=f"clip {clip.number}: audio", ffmpeg=ffmpeg,
    )  # fmt: skip


def concat_list(paths: list[Path], destination: Path) -> Path:
    lines = []
    for path in paths:
        quoted = str(path).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    destination.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return destination


# --------------------------------------------------------------------------- assembly


def output_channels(clips: list[Clip], music_info: MediaInfo | None) -> int:
    infos = [clip.audio_info for clip in clips] + [clip.sfx_info for clip in clips] + [music_info]
    return 2 if any(info and info.audio_channels > 1 for info in infos) else 1


def assemble(clips, music, music_gain, output: Path, jobs: int, channels: int) -> float:
    ffmpeg = find_ffmpeg()
    with work_directory(output) as work:
        plan(clips, lambda: reference_extradata(work, ffmpeg))
        done = 0
        lock = threading.Lock()

        def fit(clip: Clip) -> tuple[list[Path], Path]:
            nonlocal done
            audio = work / f"clip-{clip.number:05d}.wav"
            videos, how = make_video_segments(clip, work, ffmpeg)
            make_audio_segment(clip, audio, channels, ffmpeg)
            with lock:
                done += 1
                progress(f"clip {done}/{len(clips)} fitted: clip_number {clip.number} {how}")
            return videos, audio

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            segments = list(pool.map(fit, clips))

        total_frames = sum(clip.frames for clip in clips)
        total_samples = total_frames * SAMPLES_PER_FRAME
        video_list = concat_list([v for videos, _ in segments for v in videos], work / "video.txt")
        audio_list = concat_list([audio for _, audio in segments], work / "audio.txt")
        audio_input = ["-f", "concat", "-safe", "0", "-i", str(audio_list)]
        if music is not None:
            mixed = work / "mix.wav"
            run_ffmpeg(
                [*audio_input, "-stream_loop", "-1", "-i", str(music), "-filter_complex",
                 f"[1:a]{audio_format(channels)},volume={music_gain}dB,atrim=end_sample={total_samples},"
                 f"afade=t=out:st={max(0.0, total_frames / FRAME_RATE - 2):.3f}:d=2[music];"
                 f"[0:a]{audio_format(channels)},asplit=2[voice][key];[music][key]{DUCKING}[ducked];"
                 "[voice][ducked]amix=inputs=2:normalize=0:duration=first[out]",
                 "-map", "[out]", "-c:a", "pcm_s16le", str(mixed)],
                what="music mix", ffmpeg=ffmpeg,
            )  # fmt: skip
            audio_input = ["-i", str(mixed)]
        measured = measure_loudness(audio_input, what="loudness measurement", ffmpeg=ffmpeg)
        progress(
            "mix measured at "
            + (f"{measured:.1f} LUFS" if measured is not None else "silence")
            + f", normalizing to {TARGET_LUFS:g} LUFS"
        )
        # Before the final mux: a finished video always has its record beside it.
        with atomic_output(cut_record_path(output)) as temporary:
            temporary.write_text(
                json.dumps(cut_record(clips, music, music_gain), indent=1), encoding="utf-8"
            )
        with atomic_output(output) as temporary:
            run_ffmpeg(
                ["-f", "concat", "-safe", "0", "-i", str(video_list), *audio_input,
                 "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
                 "-af", f"{loudness_filter(TARGET_LUFS, measured, TRUE_PEAK)},"
                        f"atrim=end_sample={total_samples}",
                 "-c:a", "aac", "-b:a", "192k" if channels == 2 else "128k",
                 "-ar", str(SAMPLE_RATE),
                 "-movflags", "+faststart", str(temporary)],
                what="final mux", ffmpeg=ffmpeg,
            )  # fmt: skip
    return total_frames / FRAME_RATE


def main() -> None:
    args = parse_arguments()
    jobs = args.jobs or int(os.environ.get("VIDEOGEN_ASSEMBLY_JOBS", "0") or 0) or 2
    if jobs < 1:
        raise input_error(f"--jobs must be at least 1, got {jobs}")
    manifest = args.manifest.resolve()
    clips, music, music_gain = load_manifest(manifest)
    output = args.output.resolve()
    for clip in clips:
        if output in (clip.video, clip.audio, clip.sfx):
            raise input_error(f"clip {clip.number}: --output {output} would overwrite an input")
    find_ffmpeg()  # missing FFmpeg is a configuration error (78), before any probing
    music_info = probe_inputs(clips, music)
    seconds = assemble(clips, music, music_gain, output, jobs, output_channels(clips, music_info))
    copied = sum(clip.copy for clip in clips)
    emit_result(
        [args.output],
        "local",
        {},
        seconds=round(seconds, 3),
        clips=len(clips),
        clips_copied=copied,
    )


if __name__ == "__main__":
    from _common import run

    run(main)
