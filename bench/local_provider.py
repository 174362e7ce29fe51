"""Time rendering a 4-scene storyboard's media with --provider local (no network, no keys).

    .venv/bin/python bench/local_provider.py [--scene-seconds 10] [--jobs 2]

Steps, as the pipeline runs them: assets (generate_asset.py), composites
(create_composite.py / create_split_screen.py), clips (generate_video.py), narration
(generate_audio.py), sfx (generate_sound_effects.py), assembly (assemble_video.py). Within a
step, scenes run --jobs at a time, as the workers would. Prints each step's wall time and the
total; the media lands in bench/out/local_provider/ for a look.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
OUT = ROOT / "bench" / "out" / "local_provider"

ATMOSPHERE = "misty golden-hour forest, soft volumetric light, nature documentary"
ASSETS = {
    "bulbasaur": ("character", "Bulbasaur, photorealistic, on a transparent background"),
    "charmander": ("character", "Charmander, photorealistic, on a transparent background"),
    "forest": ("environment", "ancient mossy forest floor"),
    "lake": ("environment", "a still blue lake at dawn"),
}
SCENES = [
    {"id": "s01", "composite": ("forest", "bulbasaur"), "motion": "slow dolly in",
     "narration": "In the heart of the forest... something stirs.",
     "sfx": "wind through leaves, distant birdsong"},
    {"id": "s02", "composite": ("lake", "charmander"), "motion": "pan right along the shore",
     "narration": "By the lake, a small flame flickers against the morning mist, curious "
                  "and unafraid.", "sfx": "water lapping, crackling ember"},
    {"id": "s03", "split": ("bulbasaur", "charmander"), "motion": "slow zoom out to reveal",
     "narration": "Two strangers, two worlds.", "sfx": "low rumble"},
    {"id": "s04", "composite": ("forest", "charmander"), "motion": "pan left",
     "narration": "And as the light fades, the forest keeps its secrets for another day.",
     "sfx": "evening birdsong"},
]  # fmt: skip


def script(name: str, *arguments) -> dict:
    completed = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *map(str, arguments), "--provider", "local"],
        capture_output=True, text=True,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"{name} failed ({completed.returncode}):\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def step(name: str, jobs: int, calls: list[tuple]) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(lambda call: script(*call), calls))
    elapsed = time.perf_counter() - started
    print(f"{name:>10}: {len(calls)} call(s) in {elapsed:6.2f} s", flush=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene-seconds", type=int, choices=[5, 10], default=10)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    for folder in ("assets", "composites", "videos", "audio", "sfx"):
        (OUT / folder).mkdir(parents=True)

    timings = {}
    timings["assets"] = step("assets", args.jobs, [
        ("generate_asset.py", "--prompt", f"{ATMOSPHERE}. {prompt}", "--output",
         OUT / "assets" / f"{asset_id}.png", "--aspect-ratio",
         "1:1" if kind == "character" else "16:9")
        for asset_id, (kind, prompt) in ASSETS.items()
    ])  # fmt: skip
    composite_calls = []
    for scene in SCENES:
        output = OUT / "composites" / f"{scene['id']}.png"
        if "split" in scene:
            left, right = scene["split"]
            composite_calls.append(("create_split_screen.py", "--left",
                                    OUT / "assets" / f"{left}.png", "--right",
                                    OUT / "assets" / f"{right}.png", "--output", output))
        else:
            environment, character = scene["composite"]
            composite_calls.append(("create_composite.py", "--character",
                                    OUT / "assets" / f"{character}.png", "--environment",
                                    OUT / "assets" / f"{environment}.png", "--output", output))
    timings["composites"] = step("composites", args.jobs, composite_calls)  # fmt: skip
    timings["clips"] = step("clips", args.jobs, [
        ("generate_video.py", "--image", OUT / "composites" / f"{scene['id']}.png", "--prompt",
         scene["motion"], "--duration", args.scene_seconds, "--output",
         OUT / "videos" / f"{scene['id']}.mp4")
        for scene in SCENES
    ])  # fmt: skip
    timings["narration"] = step("narration", args.jobs, [
        ("generate_audio.py", "--text", scene["narration"], "--output",
         OUT / "audio" / f"{scene['id']}.mp3")
        for scene in SCENES
    ])  # fmt: skip
    timings["sfx"] = step("sfx", args.jobs, [
        ("generate_sound_effects.py", "--text", scene["sfx"], "--duration", args.scene_seconds,
         "--output", OUT / "sfx" / f"{scene['id']}.mp3")
        for scene in SCENES
    ])  # fmt: skip
    manifest = OUT / "manifest.json"
    manifest.write_text(json.dumps({"clips": [
        {"clip_number": number, "video": f"videos/{scene['id']}.mp4",
         "audio": f"audio/{scene['id']}.mp3", "sfx": f"sfx/{scene['id']}.mp3"}
        for number, scene in enumerate(SCENES, start=1)
    ]}, indent=1))  # fmt: skip
    timings["assembly"] = step("assembly", 1, [
        ("assemble_video.py", "--manifest", manifest, "--output", OUT / "final.mp4")])
    total = sum(timings.values())
    print(f"{'total':>10}: {total:6.2f} s for a {len(SCENES)}-scene storyboard "
          f"({args.scene_seconds} s clips, {args.jobs} jobs per step)")  # fmt: skip
    print(json.dumps({"seconds": {name: round(value, 2) for name, value in timings.items()},
                      "total": round(total, 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
