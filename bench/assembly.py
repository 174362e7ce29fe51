"""Benchmark assemble_video.py against a plain FFmpeg concat (stream copy) of the same clips.

    .venv/bin/python bench/assembly.py [--counts 6,18] [--seconds 10] [--skip-trim]
                                       [--skip-kling] [--only-kling]

Clips are 1080p30 H.264 of --seconds each, with a narration each. Two cases:
  fit:  the narration is as long as the clip (no trimming): the clips can be stream-copied.
  trim: the narration is 20% shorter: every clip is trimmed, so every clip is re-encoded.
For each clip count it prints wall time, the ratio to the plain concat, and the peak resident
memory of the largest process involved (getrusage RUSAGE_CHILDREN of a wrapper process, which
covers FFmpeg grandchildren). Media is cached in bench/out/ (git-ignored).

kling: clips as Kling sends them (another encoder's settings, 24 fps, --seconds long, with their
own audio), each cut to a shorter narration (the usual case). Prints the clips step's
normalization of one clip (scripts/_clip_format.py, median of 3; it overlaps the waits for the
other clips), then, per clip count, the assembly after the last narration as it was (every clip
re-encoded) and as it is now (clips normalized: GOPs copied, tails encoded), against one
re-encode of the whole cut; goal: now <= 0.25x of before, memory flat in the clip count.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from _common import FRAME_RATE, VIDEO_ENCODE_ARGS, find_ffmpeg  # noqa: E402

OUT = ROOT / "bench" / "out" / "assembly"
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "elapsed = time.perf_counter() - started\n"
    "if code.returncode: sys.stderr.write(code.stderr.decode()[-3000:])\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, code.returncode)\n"
)


def ffmpeg(*arguments: str) -> None:
    subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    *arguments], check=True)  # fmt: skip


def make_media(seconds: float) -> tuple[Path, Path, Path]:
    """One clip and two narrations (full length and 80%), made once and reused."""
    OUT.mkdir(parents=True, exist_ok=True)
    clip = OUT / f"clip-{seconds:g}s.mp4"
    if not clip.exists():
        print(f"making a {seconds:g} s 1080p clip ...", flush=True)
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={seconds}",
               *VIDEO_ENCODE_ARGS, str(clip))  # fmt: skip
    narrations = []
    for fraction in (1.0, 0.8):
        narration = OUT / f"narration-{seconds * fraction:g}s.mp3"
        if not narration.exists():
            voice = "0.3*sin(2*PI*180*t)*abs(sin(PI*4*t))"
            ffmpeg("-f", "lavfi", "-i", f"aevalsrc='{voice}':s=44100:d={seconds * fraction}",
                   "-c:a", "libmp3lame", "-b:a", "128k", str(narration))  # fmt: skip
        narrations.append(narration)
    return clip, narrations[0], narrations[1]


def measured(command: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) of the largest process, CPU seconds of the whole tree."""
    completed = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True,
                               text=True, check=True)  # fmt: skip
    elapsed, max_rss_kib, cpu, code = completed.stdout.split()
    if code != "0":
        raise SystemExit(f"command failed ({code}): {' '.join(command)}\n{completed.stderr}")
    return float(elapsed), int(max_rss_kib), float(cpu)


def project(count: int, clip: Path, narration: Path, name: str) -> Path:
    directory = OUT / f"{name}-{count}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    clips = []
    for number in range(1, count + 1):
        video = directory / f"s{number:02d}.mp4"
        video.hardlink_to(clip)  # separate files, no extra disk
        clips.append({"clip_number": number, "video": video.name, "audio": str(narration)})
    (directory / "manifest.json").write_text(json.dumps({"clips": clips}, indent=1))
    (directory / "concat.txt").write_text(
        "".join(f"file '{directory / item['video']}'\n" for item in clips)
    )
    (directory / "narration.txt").write_text(f"file '{narration}'\n" * count)
    return directory


def run_case(count: int, clip: Path, narration: Path, name: str) -> dict:
    directory = project(count, clip, narration, name)
    concat = ["-f", "concat", "-safe", "0", "-i", str(directory / "concat.txt")]
    plain = measured([find_ffmpeg(), "-hide_banner", "-nostdin", "-y", *concat, "-c", "copy",
                      str(directory / "plain.mp4")])  # fmt: skip
    # The least any correct assembly must also do: encode the narration track to AAC.
    with_audio = measured(
        [find_ffmpeg(), "-hide_banner", "-nostdin", "-y", *concat, "-f", "concat", "-safe", "0",
         "-i", str(directory / "narration.txt"), "-map", "0:v", "-map", "1:a", "-c:v", "copy",
         "-c:a", "aac", str(directory / "plain-with-audio.mp4")]
    )  # fmt: skip
    ours = measured(
        [sys.executable, str(ROOT / "scripts" / "assemble_video.py"), "--manifest",
         str(directory / "manifest.json"), "--output", str(directory / "final.mp4")]
    )  # fmt: skip
    return {
        "case": name, "clips": count,
        "plain_s": plain[0], "plain_cpu_s": plain[2], "plain_mib": plain[1] / 1024,
        "concat_aac_s": with_audio[0], "concat_aac_cpu_s": with_audio[2],
        "ours_s": ours[0], "ours_cpu_s": ours[2], "ours_mib": ours[1] / 1024,
        "ratio": ours[0] / plain[0], "cpu_ratio": ours[2] / max(plain[2], 0.01),
    }  # fmt: skip


# Narrations of the Kling case: 10 s clips cut at various distances past a keyframe.
KLING_NARRATION_FRACTIONS = (0.73, 0.81, 0.66, 0.9, 0.58, 0.77)


def make_kling_media(seconds: float) -> tuple[Path, list[Path]]:
    OUT.mkdir(parents=True, exist_ok=True)
    clip = OUT / f"kling-{seconds:g}s.mp4"
    if not clip.exists():
        print(f"making a {seconds:g} s Kling-like clip (24 fps, x264 medium) ...", flush=True)
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=24:d={seconds}",
               "-f", "lavfi", "-i", f"sine=d={seconds}", "-c:v", "libx264", "-preset", "medium",
               "-crf", "23", "-g", "48", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
               str(clip))  # fmt: skip
    narrations = []
    for fraction in KLING_NARRATION_FRACTIONS:
        narration = OUT / f"narration-{seconds * fraction:.2f}s.mp3"
        if not narration.exists():
            voice = "0.3*sin(2*PI*180*t)*abs(sin(PI*4*t))"
            ffmpeg("-f", "lavfi", "-i", f"aevalsrc='{voice}':s=44100:d={seconds * fraction:.2f}",
                   "-c:a", "libmp3lame", "-b:a", "128k", str(narration))  # fmt: skip
        narrations.append(narration)
    return clip, narrations


NORMALIZE = (
    "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[3]); "
    "from _clip_format import normalize_clip; "
    "normalize_clip(Path(sys.argv[1]), Path(sys.argv[2]), work=Path(sys.argv[2]).parent, "
    "what='clip')"
)


def kling_project(count: int, clip: Path, normalized: Path, narrations: list[Path]) -> Path:
    directory = OUT / f"kling-{count}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    rows, cut = [], []
    for number in range(1, count + 1):
        narration = narrations[(number - 1) % len(narrations)]
        original, ours = directory / f"s{number:02d}.raw.mp4", directory / f"s{number:02d}.mp4"
        original.hardlink_to(clip)
        ours.hardlink_to(normalized)
        rows.append({"clip_number": number, "video": ours.name, "audio": str(narration)})
        seconds = float(narration.stem.removeprefix("narration-").removesuffix("s"))
        cut.append(f"file '{original}'\noutpoint {seconds}\n")
    (directory / "ours.json").write_text(json.dumps({"clips": rows}))
    for row in rows:
        row["video"] = row["video"].replace(".mp4", ".raw.mp4")
    (directory / "before.json").write_text(json.dumps({"clips": rows}))
    (directory / "cut.txt").write_text("".join(cut))
    return directory


def run_kling(counts: list[int], seconds: float) -> list[dict]:
    clip, narrations = make_kling_media(seconds)
    normalized = OUT / f"kling-{seconds:g}s-normalized.mp4"
    times = []
    for _ in range(3):
        normalized.unlink(missing_ok=True)
        times.append(measured([sys.executable, "-c", NORMALIZE, str(clip), str(normalized),
                               str(ROOT / "scripts")]))  # fmt: skip
    wall, rss, cpu = sorted(times)[1]
    print(f"kling: clips step, one {seconds:g} s clip brought to the project's format: "
          f"{wall:.2f} s wall / {cpu:.2f} s CPU, peak RSS {rss / 1024:.0f} MiB (median of 3; "
          f"overlaps the waits for the other clips)", flush=True)  # fmt: skip
    rows = []
    script = str(ROOT / "scripts" / "assemble_video.py")
    for count in counts:
        directory = kling_project(count, clip, normalized, narrations)
        whole = measured(
            [find_ffmpeg(), "-hide_banner", "-nostdin", "-y", "-f", "concat", "-safe", "0",
             "-i", str(directory / "cut.txt"), "-map", "0:v", "-map", "0:a", "-vf",
             f"fps={FRAME_RATE}", *VIDEO_ENCODE_ARGS, "-c:a", "aac", str(directory / "whole.mp4")]
        )  # fmt: skip
        before = measured([sys.executable, script, "--manifest", str(directory / "before.json"),
                           "--output", str(directory / "before.mp4")])  # fmt: skip
        ours = measured([sys.executable, script, "--manifest", str(directory / "ours.json"),
                         "--output", str(directory / "ours.mp4")])  # fmt: skip
        row = {"case": "kling", "clips": count, "whole_s": whole[0], "whole_cpu_s": whole[2],
               "before_s": before[0], "before_cpu_s": before[2], "before_mib": before[1] / 1024,
               "ours_s": ours[0], "ours_cpu_s": ours[2], "ours_mib": ours[1] / 1024,
               "ratio_to_before": ours[0] / before[0], "ratio_to_whole": ours[0] / whole[0],
               "normalize_s": wall, "normalize_cpu_s": cpu}  # fmt: skip
        rows.append(row)
        print(f"kling {count:>3} clips cut to narration: assembly after the last narration "
              f"{ours[0]:6.2f} s wall / {ours[2]:6.2f} s CPU, peak RSS {row['ours_mib']:4.0f} MiB; "
              f"before (every clip re-encoded) {before[0]:6.2f} s / {before[2]:6.2f} s CPU, "
              f"{row['before_mib']:4.0f} MiB; one re-encode of the whole cut {whole[0]:6.2f} s "
              f"/ {whole[2]:6.2f} s CPU; now/before {row['ratio_to_before']:.3f}x wall, "
              f"{ours[2] / before[2]:.3f}x CPU (goal <= 0.25); "
              f"now/whole re-encode {row['ratio_to_whole']:.3f}x", flush=True)  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="6,18")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-trim", action="store_true")
    parser.add_argument("--skip-kling", action="store_true")
    parser.add_argument("--only-kling", action="store_true")
    args = parser.parse_args()
    counts = [int(count) for count in args.counts.split(",")]
    rows = [] if args.skip_kling else run_kling(counts, args.seconds)
    if args.only_kling:
        print(json.dumps(rows))
        return
    clip, full, shorter = make_media(args.seconds)

    for name, narration in (("fit", full), ("trim", shorter)):
        if name == "trim" and args.skip_trim:
            continue
        for count in counts:
            row = run_case(count, clip, narration, name)
            rows.append(row)
            print(
                f"{row['case']:>4} {row['clips']:>3} clips x {args.seconds:g} s 1080p: "
                f"assemble {row['ours_s']:6.2f} s wall / {row['ours_cpu_s']:6.2f} s CPU; "
                f"plain concat {row['plain_s']:5.2f} s / {row['plain_cpu_s']:5.2f} s CPU; "
                f"ratio {row['ratio']:5.1f}x wall, {row['cpu_ratio']:5.1f}x CPU; "
                f"concat+AAC {row['concat_aac_s']:5.2f} s / {row['concat_aac_cpu_s']:5.2f} s CPU; "
                f"peak RSS {row['ours_mib']:4.0f} MiB (plain {row['plain_mib']:3.0f} MiB)",
                flush=True,
            )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
