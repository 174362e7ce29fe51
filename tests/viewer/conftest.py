"""Fixtures for the viewer's features (issue 23): real media made with FFmpeg, the cut assembled
by scripts/assemble_video.py, and both FFmpeg builds (the bundled one, Debian's when installed;
with CI=true a missing /usr/bin/ffmpeg fails instead of skipping)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.media import ffmpeg_binary

REPO = Path(__file__).resolve().parents[2]
SYSTEM_FFMPEG = Path("/usr/bin/ffmpeg")


@pytest.fixture(params=["bundled", "system"])
def ffmpeg_path(request) -> str:
    """Each FFmpeg build the product may run with."""
    if request.param == "bundled":
        from core.ffmpeg import bundled_ffmpeg

        return bundled_ffmpeg() or ffmpeg_binary()
    if not SYSTEM_FFMPEG.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI installs Debian's FFmpeg, but {SYSTEM_FFMPEG} is missing")
        pytest.skip(f"{SYSTEM_FFMPEG} is not installed")
    return str(SYSTEM_FFMPEG)


def render(output, *arguments, ffmpeg=None):
    subprocess.run(
        [ffmpeg or ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         *arguments, str(output)],
        check=True,
    )  # fmt: skip
    return Path(output)


def tone(path, seconds, *, frequency=300, volume_db=-20):
    """A narration stand-in: a tone of exactly `seconds`."""
    return render(path, "-f", "lavfi", "-i", f"sine=f={frequency}:d={seconds}:r=44100",
                  "-af", f"volume={volume_db}dB", "-c:a", "libmp3lame", "-b:a", "96k")  # fmt: skip


def moving_clip(path, seconds, *, size="320x180"):
    return render(path, "-f", "lavfi", "-i", f"testsrc2=s={size}:r=30:d={seconds}",
                  "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")  # fmt: skip


def assemble(manifest: dict, directory: Path, *, ffmpeg=None, name="final.mp4") -> Path:
    """Run scripts/assemble_video.py on `manifest`; returns the final video."""
    manifest_path = directory / "manifest.json"
    manifest_path.write_text(json.dumps(manifest))
    output = directory / name
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIDEOGEN_")}
    env["PYTHONPATH"] = str(REPO)  # as the runner sets it: the scripts import the core package
    if ffmpeg:
        env["FFMPEG_BINARY"] = ffmpeg
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "assemble_video.py"), "--manifest",
         str(manifest_path), "--output", str(output)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return output


SAMPLE = REPO / "pipeline" / "sample_storyboards" / "bulbasaur.yaml"


def run_script(name, *arguments):
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / name), "--provider", "local",
         *[str(argument) for argument in arguments]],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]


def demo_cut(directory: Path, *, music=None) -> tuple[Path, dict]:
    """The demo's cut: the sample storyboard made by the local provider (as `make demo` does)
    and assembled; returns (final video, storyboard)."""
    import yaml

    storyboard = yaml.safe_load(SAMPLE.read_text())
    for asset in storyboard["assets"]:
        ratio = "16:9" if asset["kind"] == "environment" else "1:1"
        run_script("generate_asset.py", "--prompt", asset["prompt"], "--output",
                   directory / f"{asset['id']}.png", "--aspect-ratio", ratio)  # fmt: skip
    clips = []
    for number, scene in enumerate(storyboard["scenes"], start=1):
        image = directory / f"{scene['id']}-composite.png"
        if scene.get("split"):
            left, right = scene["split"]
            run_script("create_split_screen.py", "--left", directory / f"{left}.png",
                       "--right", directory / f"{right}.png", "--output", image)  # fmt: skip
        else:
            composite = scene["composite"]
            run_script("create_composite.py", "--character",
                       directory / f"{composite['character']}.png", "--environment",
                       directory / f"{composite['environment']}.png", "--scale",
                       composite.get("scale", 1.0), "--output", image)  # fmt: skip
        clip = {"clip_number": number, "scene": scene["id"],
                "video": str(directory / f"{scene['id']}.mp4"),
                "audio": str(directory / f"{scene['id']}.mp3")}  # fmt: skip
        run_script("generate_video.py", "--image", image, "--prompt", scene["motion"],
                   "--output", clip["video"], "--duration", 5)  # fmt: skip
        run_script("generate_audio.py", "--text", scene["narration"], "--output", clip["audio"])
        if scene.get("sfx"):
            clip["sfx"] = str(directory / f"{scene['id']}-sfx.mp3")
            run_script("generate_sound_effects.py", "--text", scene["sfx"], "--duration",
                       scene["duration"], "--output", clip["sfx"])  # fmt: skip
        clips.append(clip)
    manifest = {"title": storyboard["title"], "clips": clips}
    if music:
        manifest["music"] = music
    return assemble(manifest, directory), storyboard


def make_flawed_cut(directory: Path) -> tuple[Path, dict]:
    """A cut with known flaws, and its cut record: three 4 s scenes, s01 clean; s02 with 2 s of
    black in its middle; s03 a 1 s clip held on its last frame for 3 s (as the assembly holds a
    clip too short for its narration). The mix sits at -20 LUFS instead of -14 (a 1 kHz sine at
    full scale is -3 LUFS; 17 dB under it)."""
    source = "testsrc2=s=640x360:r=30"
    final = render(
        directory / "final.mp4",
        "-f", "lavfi", "-i", f"{source}:d=5",
        "-f", "lavfi", "-i", "color=black:s=640x360:r=30:d=2",
        "-f", "lavfi", "-i", f"{source}:d=1",
        "-f", "lavfi", "-i", f"{source}:d=1",
        "-f", "lavfi", "-i", "aevalsrc=sin(2*PI*1000*t):s=48000:d=12",
        "-filter_complex",
        "[0:v][1:v][2:v]concat=n=3:v=1:a=0[first];"
        "[3:v]tpad=stop_mode=clone:stop_duration=3[held];"
        "[first][held]concat=n=2:v=1:a=0,format=yuv420p[v];[4:a]volume=-17dB[a]",
        "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
        "-c:a", "aac", "-b:a", "128k", "-t", "12",
    )  # fmt: skip
    record = {
        "frame_rate": 30,
        "frames": 360,
        "clips": [
            {"clip_number": 1, "scene": "s01", "start_frame": 0, "frames": 120,
             "narration_seconds": 3.9, "clip_seconds": 5.0, "slowdown": 1.0, "held_seconds": 0},
            {"clip_number": 2, "scene": "s02", "start_frame": 120, "frames": 120,
             "narration_seconds": 3.9, "clip_seconds": 4.0, "slowdown": 1.0, "held_seconds": 0},
            {"clip_number": 3, "scene": "s03", "start_frame": 240, "frames": 120,
             "narration_seconds": 3.9, "clip_seconds": 1.0, "slowdown": 1.0, "held_seconds": 3.0},
        ],
    }  # fmt: skip
    (directory / "final.cut.json").write_text(json.dumps(record))
    return final, record
