"""The automatic check of a final cut, before a person watches it: what a machine can find so the
reviewer does not have to watch for it.

One FFmpeg pass decodes the file once and runs every detector on it: blackdetect and freezedetect
on a small copy of the picture (a 160x90 picture shows a black or frozen frame as well as 1080p
does, at a fraction of the cost; the decoder also skips its loop filter and the frames no other
frame refers to, which leaves a frame every few hundredths of a second: plenty to time a stretch
of half a second or more), silencedetect, ebur128
(integrated loudness and true peak) and astats in 0.1 s windows (clipping) on the sound. The cut's
own record (pipeline/cut.py) adds what only the assembly knows: clips slowed and then held on
their last frame, narration longer than its scene. The container's streams give the drift between
picture and sound.

Findings are placed on the scenes they overlap, so the review page can mark them on the player's
timeline and pre-tick those scenes for a redo; loudness, true peak and drift belong to the whole
cut. The report is final.check.json beside the video."""

import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field

import av

from core.ffmpeg import usable_ffmpeg
from core.media_cache import media_local_copy
from core.media_store import MediaStoreError, media_text, media_text_put
from pipeline import paths
from pipeline.cut import cut_load

TARGET_LUFS = -14.0  # what assemble_video.py normalizes to
LOUDNESS_TOLERANCE_LU = 1.0
TRUE_PEAK_MAX_DBTP = -1.0  # the assembly limits at -1.5; AAC encoding may add a few tenths
BLACK_MIN_SECONDS = 0.5
BLACK_PIXEL_THRESHOLD = 0.10
FREEZE_MIN_SECONDS = 2.0
FREEZE_NOISE = 0.001
HELD_MAX_SECONDS = 1.0  # a last frame held longer than this is flagged
SILENCE_MIN_SECONDS = 2.0
SILENCE_NOISE_DB = -50
CLIP_PEAK_DB = -0.1  # a 0.1 s window peaking at full scale is clipping
PEAK_WINDOW_SAMPLES = 4800  # 0.1 s at 48 kHz
DRIFT_MAX_SECONDS = 2 / 30  # picture and sound may differ by two frames (AAC priming)
OVERLAP_MIN_SECONDS = 1 / 30  # a finding belongs to a scene it overlaps by at least a frame
CHECK_TIMEOUT_SECONDS = 1800

LABELS = {
    "black": "black picture",
    "freeze": "frozen picture",
    "held": "clip slowed and its last frame held",
    "silence": "silence",
    "clipping": "clipping",
    "narration_over": "narration longer than its scene",
    "loudness": "integrated loudness off target",
    "true_peak": "true peak over the limit",
    "drift": "picture and sound lengths differ",
    "unchecked": "the cut could not be checked",
    "burn": "captions not burned into the picture",
}


@dataclass
class Finding:
    kind: str
    detail: str
    start: float | None = None
    end: float | None = None

    @property
    def label(self):
        return LABELS[self.kind]


@dataclass
class Measured:
    black: list = field(default_factory=list)  # [(start, end)]
    freeze: list = field(default_factory=list)
    silence: list = field(default_factory=list)
    clipping: list = field(default_factory=list)
    integrated: float | None = None
    true_peak: float | None = None
    video_seconds: float | None = None
    audio_seconds: float | None = None


# --------------------------------------------------------------------------- measuring

_BLACK = re.compile(r"black_start:\s*([\d.]+)\s+black_end:\s*([\d.]+)")
_FREEZE = re.compile(r"freezedetect\.freeze_(start|end):\s*([\d.]+)")
_SILENCE = re.compile(r"silence_(start|end):\s*(-?[\d.]+)")
_INTEGRATED = re.compile(r"I:\s+(-?[\d.]+|-inf) LUFS")
_TRUE_PEAK = re.compile(r"Peak:\s+(-?[\d.]+|-inf) dBFS")
_WINDOW = re.compile(
    r"pts_time:([\d.]+)\s*\n\s*lavfi\.astats\.Overall\.Peak_level=(-?[\d.]+|-?inf)"
)


def _intervals(events, duration):
    """[(start, end)] from start/end events in order; one still open ends with the file."""
    found, opened = [], None
    for kind, value in events:
        if kind == "start":
            opened = float(value)
        elif opened is not None:
            found.append((opened, float(value)))
            opened = None
    if opened is not None and duration is not None and duration > opened:
        found.append((opened, duration))
    return found


def _stream_seconds(path):
    with av.open(str(path)) as container:
        seconds = {}
        for stream in container.streams:
            if stream.type in ("video", "audio") and stream.duration and stream.time_base:
                seconds[stream.type] = float(stream.duration * stream.time_base)
        return seconds.get("video"), seconds.get("audio")


def measure(path, *, ffmpeg=None):
    """Run every detector over the file in one FFmpeg pass."""
    ffmpeg = ffmpeg or usable_ffmpeg().path
    video_seconds, audio_seconds = _stream_seconds(path)
    duration = max(filter(None, (video_seconds, audio_seconds)), default=None)
    with tempfile.TemporaryDirectory(prefix="videogen-cut-check-") as directory:
        peaks = os.path.join(directory, "peaks.txt")
        chains, outputs = [], []
        if video_seconds is not None:
            chains.append(
                f"[0:v]scale=160:90:flags=fast_bilinear,"
                f"blackdetect=d={BLACK_MIN_SECONDS}:pix_th={BLACK_PIXEL_THRESHOLD},"
                f"freezedetect=n={FREEZE_NOISE}:d={FREEZE_MIN_SECONDS}[v]"
            )
            outputs += ["-map", "[v]", "-f", "null", "-"]
        if audio_seconds is not None:
            chains.append(
                f"[0:a]silencedetect=n={SILENCE_NOISE_DB}dB:d={SILENCE_MIN_SECONDS},"
                "ebur128=peak=true:framelog=verbose,"
                f"asetnsamples=n={PEAK_WINDOW_SAMPLES},astats=metadata=1:reset=1,"
                f"ametadata=mode=print:key=lavfi.astats.Overall.Peak_level:file={peaks}[a]"
            )
            outputs += ["-map", "[a]", "-f", "null", "-"]
        if not chains:
            raise RuntimeError(f"{path.name} has neither picture nor sound")
        completed = subprocess.run(
            [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-skip_loop_filter", "all",
             "-skip_frame:v", "noref",
             "-i", str(path), "-filter_complex", ";".join(chains), *outputs],
            capture_output=True, text=True, errors="replace", timeout=CHECK_TIMEOUT_SECONDS,
        )  # fmt: skip
        if completed.returncode != 0:
            tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
            raise RuntimeError(f"FFmpeg could not check {path.name}: {tail}")
        windows = open(peaks, encoding="utf-8").read() if os.path.exists(peaks) else ""
    log = completed.stderr
    summary = log.rsplit("Summary:", 1)[-1]
    integrated = _INTEGRATED.search(summary)
    true_peak = _TRUE_PEAK.search(summary)
    window = PEAK_WINDOW_SAMPLES / 48000
    return Measured(
        black=[(float(a), float(b)) for a, b in _BLACK.findall(log)],
        freeze=_intervals(_FREEZE.findall(log), video_seconds or duration),
        silence=_intervals(_SILENCE.findall(log), audio_seconds or duration),
        clipping=[
            (float(at), float(at) + window)
            for at, level in _WINDOW.findall(windows)
            if "inf" not in level and float(level) >= CLIP_PEAK_DB
        ],
        integrated=_number(integrated),
        true_peak=_number(true_peak),
        video_seconds=video_seconds,
        audio_seconds=audio_seconds,
    )


def _number(match):
    if match is None or "inf" in match.group(1):
        return None
    return float(match.group(1))


def _joined(intervals, gap=0.15):
    """Neighbouring windows (clipping) as one stretch."""
    joined = []
    for start, end in sorted(intervals):
        if joined and start - joined[-1][1] <= gap:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


# --------------------------------------------------------------------------- judging


def _inside(interval, others):
    start, end = interval
    return any(start >= a - 0.05 and end <= b + 0.05 for a, b in others)


def findings_of(measured, cut):
    """(findings on the whole cut, {scene id: [findings]})."""
    whole, by_scene = [], {scene.scene: [] for scene in cut.scenes} if cut else {}
    placed = []
    for start, end in measured.black:
        placed.append(Finding("black", f"{end - start:.1f} s of black", start, end))
    for start, end in measured.freeze:
        if not _inside((start, end), measured.black):  # black is frozen too: said once
            placed.append(Finding("freeze", f"{end - start:.1f} s frozen", start, end))
    for start, end in measured.silence:
        placed.append(Finding("silence", f"{end - start:.1f} s under {SILENCE_NOISE_DB} dB",
                              start, end))  # fmt: skip
    for start, end in _joined(measured.clipping):
        placed.append(Finding("clipping", f"peaks at full scale for {end - start:.1f} s",
                              start, end))  # fmt: skip
    for finding in placed:
        scenes = _scenes_overlapping(cut, finding.start, finding.end)
        if not scenes:
            whole.append(finding)
        for scene in scenes:
            by_scene[scene].append(finding)
    for scene in cut.scenes if cut else []:
        if scene.held_seconds > HELD_MAX_SECONDS:
            by_scene[scene.scene].append(Finding(
                "held",
                f"clip of {scene.clip_seconds or 0:.1f} s slowed {scene.slowdown:.2f}x, then its "
                f"last frame held {scene.held_seconds:.1f} s",
                scene.end - scene.held_seconds, scene.end,
            ))  # fmt: skip
        if scene.narration_seconds and scene.narration_seconds > scene.seconds + 1 / 30:
            by_scene[scene.scene].append(Finding(
                "narration_over",
                f"narration {scene.narration_seconds:.1f} s in a {scene.seconds:.1f} s scene: "
                "its end is cut off",
                scene.start, scene.end,
            ))  # fmt: skip
    if measured.integrated is not None and (
        abs(measured.integrated - TARGET_LUFS) > LOUDNESS_TOLERANCE_LU
    ):
        whole.append(Finding(
            "loudness",
            f"{measured.integrated:.1f} LUFS integrated, target {TARGET_LUFS:g} "
            f"\u00b1 {LOUDNESS_TOLERANCE_LU:g}",
        ))  # fmt: skip
    if measured.true_peak is not None and measured.true_peak > TRUE_PEAK_MAX_DBTP:
        whole.append(Finding(
            "true_peak", f"{measured.true_peak:.1f} dBTP, at most {TRUE_PEAK_MAX_DBTP:g}"
        ))  # fmt: skip
    if measured.video_seconds and measured.audio_seconds is None:
        whole.append(Finding("silence", "the cut has no sound track"))
    if measured.video_seconds and measured.audio_seconds:
        drift = measured.audio_seconds - measured.video_seconds
        if abs(drift) > DRIFT_MAX_SECONDS:
            whole.append(Finding(
                "drift",
                f"picture {measured.video_seconds:.2f} s, sound {measured.audio_seconds:.2f} s",
            ))  # fmt: skip
    return whole, by_scene


def _scenes_overlapping(cut, start, end):
    if cut is None:
        return []
    return [
        scene.scene
        for scene in cut.scenes
        if min(end, scene.end) - max(start, scene.start) >= OVERLAP_MIN_SECONDS
    ]


def report_of(measured, cut, *, seconds_taken=None):
    whole, by_scene = findings_of(measured, cut)
    scenes = [
        {
            "scene": scene.scene,
            "number": scene.number,
            "start": round(scene.start, 3),
            "end": round(scene.end, 3),
            "findings": [_finding_json(f) for f in by_scene.get(scene.scene, [])],
        }
        for scene in (cut.scenes if cut else [])
    ]
    return {
        "clean": not whole and not any(scene["findings"] for scene in scenes),
        "duration": round(cut.seconds, 3) if cut else measured.video_seconds,
        "integrated_lufs": measured.integrated,
        "true_peak_dbtp": measured.true_peak,
        "target_lufs": TARGET_LUFS,
        "whole": [_finding_json(f) for f in whole],
        "scenes": scenes,
        "flagged_scenes": [scene["scene"] for scene in scenes if scene["findings"]],
        "seconds_taken": seconds_taken,
    }


def _finding_json(finding):
    data = asdict(finding)
    data["label"] = finding.label
    for key in ("start", "end"):
        if data[key] is not None:
            data[key] = round(data[key], 3)
    return data


def unchecked_report(cause):
    finding = Finding("unchecked", cause)
    return {"clean": False, "whole": [_finding_json(finding)], "scenes": [],
            "flagged_scenes": [], "seconds_taken": None}  # fmt: skip


# --------------------------------------------------------------------------- the task's cut


def cut_check(task, cut=None):
    """Check the task's final video, write final.check.json and return the report. A check that
    cannot run says so in the report (it is then not clean), it never raises."""
    started = time.monotonic()
    try:
        cut = cut if cut is not None else cut_load(task)
        # Through the worker's cache when the store is a bucket (the final may be made elsewhere).
        measured = measure(media_local_copy(paths.final_video(task.channel_id, str(task.pk))))
        report = report_of(measured, cut, seconds_taken=round(time.monotonic() - started, 3))
    except (OSError, RuntimeError, subprocess.TimeoutExpired, av.FFmpegError) as error:
        report = unchecked_report(f"{type(error).__name__}: {error}")
    except MediaStoreError as error:
        report = unchecked_report(f"the final video could not be read from the store: {error}")
    media_text_put(paths.cut_check(task.channel_id, str(task.pk)), json.dumps(report, indent=1))
    return report


def cut_report_load(task):
    """The task's last check report, or None."""
    text = media_text(paths.cut_check(task.channel_id, str(task.pk)))
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def report_summary(report):
    """One line for a task's error log or an alert."""
    parts = [f"{f['label']} ({f['detail']})" for f in report.get("whole", [])]
    for scene in report.get("scenes", []):
        for f in scene["findings"]:
            parts.append(f"scene {scene['scene']}: {f['label']} ({f['detail']})")
    return "; ".join(parts) or "clean"


def report_add_whole(task, report, kind, detail):
    """The report with one more finding on the whole cut (no longer clean), written again."""
    finding = _finding_json(Finding(kind, detail))
    report = {**report, "whole": [*report.get("whole", []), finding], "clean": False}
    media_text_put(paths.cut_check(task.channel_id, str(task.pk)), json.dumps(report, indent=1))
    return report
