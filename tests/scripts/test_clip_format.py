"""Clips brought to the project's format as they land (scripts/_clip_format.py), and assembled
by copying whole GOPs and encoding only the frames past the last keyframe before each cut
(scripts/_segments.py): the same video, frame for frame, as re-encoding the original clips.
Each test runs with the bundled FFmpeg and with Debian's."""

import json
import subprocess
import sys

import pytest

from tests.fakes.media import ffmpeg_binary

from .conftest import SCRIPTS, decode_errors, integrated_loudness, probe

FRAME_RATE = 30
# Narrations against 3 s clips: cuts 3 frames past a keyframe, on a keyframe, 3 frames past one.
NARRATION_SECONDS = (2.1, 2.5, 1.6)
TINTS = ("red", "green", "blue")


def render(output, *arguments):
    subprocess.run([ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    *arguments, str(output)], check=True)  # fmt: skip
    return output


@pytest.fixture(scope="module")
def arrivals(tmp_path_factory):
    """Three clips as a provider sends them (another encoder's settings, 24 fps, 640x360, with
    its own audio), each of one tint with a moving pattern, and their narrations."""
    root = tmp_path_factory.mktemp("arrivals")
    clips, narrations = [], []
    for number, (tint, seconds) in enumerate(zip(TINTS, NARRATION_SECONDS, strict=True), 1):
        picture = (f"color=c={tint}:s=640x360:r=24:d=3[bg];testsrc2=s=160x90:r=24:d=3[fg];"
                   "[bg][fg]overlay=x='t*120':y=40")  # fmt: skip
        clips.append(render(root / f"s{number:02d}.raw.mp4", "-filter_complex", picture,
                            "-f", "lavfi", "-i", "sine=d=3", "-c:v", "libx264", "-preset",
                            "medium", "-crf", "26", "-g", "48", "-pix_fmt", "yuv420p",
                            "-c:a", "aac", "-shortest"))  # fmt: skip
        narrations.append(render(root / f"s{number:02d}.mp3", "-f", "lavfi", "-i",
                                 f"sine=f={200 + 40 * number}:d={seconds}:r=44100",
                                 "-af", "volume=-24dB", "-c:a", "libmp3lame"))  # fmt: skip
    return clips, narrations


def normalize(script_env, source, destination):
    code = (
        "import sys; from pathlib import Path; from _clip_format import normalize_clip; "
        "print(normalize_clip(Path(sys.argv[1]), Path(sys.argv[2]), work=Path(sys.argv[2]).parent,"
        " what='clip'))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, str(source), str(destination)],
        env=script_env, cwd=SCRIPTS, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return completed.stdout.strip()


def assemble(run_script, clips, narrations, output):
    manifest = output.with_suffix(".json")
    manifest.write_text(json.dumps({"clips": [
        {"clip_number": number, "video": str(clip), "audio": str(narration)}
        for number, (clip, narration) in enumerate(zip(clips, narrations, strict=True), 1)
    ]}))  # fmt: skip
    run = run_script("assemble_video.py", "--manifest", manifest, "--output", output)
    assert run.returncode == 0, run
    return run


def scenes(path):
    """(tint, frames) runs of the decoded video, each frame classed by its strongest colour."""
    import av

    runs = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            pixel = frame.to_image().resize((1, 1)).getpixel((0, 0))
            tint = TINTS[max(range(3), key=lambda channel: pixel[channel])]
            if runs and runs[-1][0] == tint:
                runs[-1][1] += 1
            else:
                runs.append([tint, 1])
    return [tuple(run) for run in runs]


def test_clips_from_another_encoder_are_normalized_and_assembled_frame_exact(
    run_script, script_env, arrivals, tmp_path
):
    originals, narrations = arrivals
    normalized = [tmp_path / f"s{number:02d}.mp4" for number in range(1, 4)]
    for original, clip in zip(originals, normalized, strict=True):
        assert normalize(script_env, original, clip) == "normalized"
        info = probe(clip)
        assert (info.video_codec, info.width, info.height, info.frame_rate) == (
            "h264", 1920, 1080, 30.0)  # fmt: skip
        assert abs(info.duration - 3.0) < 1 / FRAME_RATE

    today = assemble(run_script, originals, narrations, tmp_path / "today.mp4")
    ours = assemble(run_script, normalized, narrations, tmp_path / "ours.mp4")

    assert "trimmed 3.00" in today.stderr  # the originals: re-encoded whole
    assert ours.stderr.count("cut 3.00") == 3  # ours: GOPs copied, only the tails encoded
    # Frame counts follow the running total of the narrations (plan()), as today.
    ends = [round(sum(NARRATION_SECONDS[: n + 1]) * FRAME_RATE) for n in range(3)]
    expected = [end - start for start, end in zip([0, *ends[:-1]], ends, strict=True)]
    total = ends[-1]
    ours_scenes, today_scenes = scenes(tmp_path / "ours.mp4"), scenes(tmp_path / "today.mp4")
    assert [tint for tint, _ in ours_scenes] == list(TINTS)
    for (tint, frames), wanted in zip(ours_scenes, expected, strict=True):
        assert abs(frames - wanted) <= 1, (tint, frames, wanted)
    assert ours_scenes == today_scenes
    info = probe(tmp_path / "ours.mp4")
    assert abs(info.duration - total / FRAME_RATE) < 1 / FRAME_RATE
    assert abs(info.audio_duration - total / FRAME_RATE) < 0.05
    assert abs(integrated_loudness(tmp_path / "ours.mp4")
               - integrated_loudness(tmp_path / "today.mp4")) < 0.2  # fmt: skip
    assert abs(integrated_loudness(tmp_path / "ours.mp4") - -14.0) <= 1.0
    assert decode_errors(tmp_path / "ours.mp4") == ""


def test_a_clip_already_in_the_projects_format_is_not_re_encoded(
    script_env, arrivals, tmp_path
):
    originals, _ = arrivals
    once, twice = tmp_path / "once.mp4", tmp_path / "twice.mp4"
    assert normalize(script_env, originals[0], once) == "normalized"

    outcome = normalize(script_env, once, twice)

    assert outcome == "already in the project's format: kept as it is"
    assert twice.read_bytes() == once.read_bytes()
