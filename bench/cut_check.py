"""Benchmark the cut check (pipeline/cut_check.py) against the assembly of the same cut.

    .venv/bin/python bench/cut_check.py [--scenes 18] [--seconds 8]

An 18-scene cut of 8 s scenes (144 s, 1080p30) is assembled by assemble_video.py from 10 s
clips (every clip is trimmed, so every clip is encoded: the assembly's ordinary case), then
checked. Prints both wall times and the check's share of the assembly's; the check must stay a
small fraction of it. Media is cached in bench/out/ (git-ignored)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")

from _common import VIDEO_ENCODE_ARGS, find_ffmpeg  # noqa: E402

OUT = ROOT / "bench" / "out" / "cut_check"


def ffmpeg(*arguments: str) -> None:
    subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    *arguments], check=True)  # fmt: skip


def make_project(scenes: int, seconds: float) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    clip = OUT / "clip-10s.mp4"
    if not clip.exists():
        ffmpeg("-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=10", *VIDEO_ENCODE_ARGS,
               str(clip))  # fmt: skip
    narration = OUT / f"narration-{seconds:g}s.mp3"
    if not narration.exists():
        voice = "0.3*sin(2*PI*180*t)*abs(sin(PI*4*t))"
        ffmpeg("-f", "lavfi", "-i", f"aevalsrc='{voice}':s=44100:d={seconds}",
               "-c:a", "libmp3lame", "-b:a", "128k", str(narration))  # fmt: skip
    clips = [{"clip_number": n, "scene": f"s{n:02d}", "video": str(clip), "audio": str(narration)}
             for n in range(1, scenes + 1)]  # fmt: skip
    (OUT / "manifest.json").write_text(json.dumps({"clips": clips}))
    return OUT / "manifest.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=18)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    manifest = make_project(args.scenes, args.seconds)
    final = OUT / "final.mp4"

    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "assemble_video.py"), "--manifest",
                    str(manifest), "--output", str(final)], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    assembly = time.perf_counter() - started

    import django

    django.setup()
    from pipeline.cut import cut_from_record
    from pipeline.cut_check import measure, report_of

    record = json.loads((OUT / "final.cut.json").read_text())
    cut = cut_from_record(record, [])
    started = time.perf_counter()
    report = report_of(measure(final), cut)
    check = time.perf_counter() - started
    print(
        f"cut check: {args.scenes} scenes x {args.seconds:g} s ({cut.seconds:.0f} s 1080p30): "
        f"assembly {assembly:.1f} s, check {check:.1f} s = {100 * check / assembly:.0f}% of the "
        f"assembly ({cut.seconds / check:.0f}x real time); report clean={report['clean']}",
        flush=True,
    )
    print(json.dumps({"scenes": args.scenes, "assembly_s": assembly, "check_s": check,
                      "ratio": check / assembly}))  # fmt: skip


if __name__ == "__main__":
    main()
