import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.fakes.media import ffmpeg_binary

from .conftest import SCRIPTS, decode_errors, frames_as_arrays, integrated_loudness, probe

sys.path.insert(0, str(SCRIPTS))
from _common import VIDEO_ENCODE_ARGS  # noqa: E402


def render(output, *arguments):
    subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *arguments,
         str(output)],
        check=True,
    )  # fmt: skip
    return output


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Small clips and narrations, made once for the module."""
    root = tmp_path_factory.mktemp("project")
    for name in ("videos", "audio", "sfx"):
        (root / name).mkdir()

    def small_clip(name, seconds, colour=None):
        source = (f"color=c={colour}:s=320x180:r=24:d={seconds}" if colour
                  else f"testsrc2=s=320x180:r=24:d={seconds}")  # fmt: skip
        return render(root / "videos" / name, "-f", "lavfi", "-i", source, "-c:v", "libx264",
                      "-preset", "ultrafast", "-pix_fmt", "yuv420p")  # fmt: skip

    def full_hd_clip(name, seconds, with_audio=False):
        """Encoded exactly as our own scripts encode: eligible for stream copy."""
        sound = ["-f", "lavfi", "-i", f"sine=d={seconds}", "-c:a", "aac"] if with_audio else []
        return render(root / "videos" / name, "-f", "lavfi", "-i",
                      f"testsrc2=s=1920x1080:r=30:d={seconds}", *sound,
                      *VIDEO_ENCODE_ARGS)  # fmt: skip

    def tone(folder, name, seconds, frequency, volume_db):
        return render(root / folder / name, "-f", "lavfi", "-i",
                      f"sine=f={frequency}:d={seconds}:r=44100", "-af", f"volume={volume_db}dB",
                      "-c:a", "libmp3lame", "-b:a", "96k")  # fmt: skip

    return {
        "root": root,
        "long": small_clip("long.mp4", 2.0),
        "short": small_clip("short.mp4", 1.0),
        "plain": small_clip("plain.mp4", 1.5),
        "red": small_clip("red.mp4", 1.0, "red"),
        "blue": small_clip("blue.mp4", 1.0, "blue"),
        "hd1": full_hd_clip("hd1.mp4", 1.0),
        "hd2": full_hd_clip("hd2.mp4", 1.0, with_audio=True),
        "voice_short": tone("audio", "voice_short.mp3", 1.2, 220, -28),
        "voice_long": tone("audio", "voice_long.mp3", 2.0, 330, -28),
        "voice_1s": tone("audio", "voice_1s.mp3", 1.0, 260, -20),
        "sfx": tone("sfx", "wind.mp3", 3.0, 1200, -20),
        "music": tone("audio", "music.mp3", 0.7, 150, -15),
    }


def write_manifest(directory, document, name="manifest.json"):
    path = directory / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def assemble(run_script, manifest, output, *extra, env=None):
    return run_script("assemble_video.py", "--manifest", manifest, "--output", output, *extra,
                      env=env)  # fmt: skip


def audio_seconds(path):
    return probe(path).audio_duration


def test_it_fits_each_clip_to_its_narration_and_normalizes_to_minus_14_lufs(
    run_script, media, tmp_path
):
    root = media["root"]
    manifest = write_manifest(root, {"clips": [
        {"clip_number": 1, "video": "videos/long.mp4", "audio": "audio/voice_short.mp3",
         "sfx": "sfx/wind.mp3"},
        {"clip_number": 2, "video": "videos/short.mp4", "audio": "audio/voice_long.mp3"},
        {"clip_number": 3, "video": "videos/plain.mp4"},
    ]}, "fit.json")  # fmt: skip
    output = tmp_path / "final" / "final.mp4"
    run = assemble(run_script, manifest, output)
    assert run.returncode == 0, run
    assert run.result["ok"] is True and run.result["outputs"] == [str(output)]
    assert run.result["provider"] == "local"

    info = probe(output)
    assert (info.width, info.height) == (1920, 1080)
    assert (info.video_codec, info.pix_fmt, info.frame_rate) == ("h264", "yuv420p", 30.0)
    assert info.has_audio
    # trimmed to 1.2 s + extended to 2.0 s + its own 1.5 s
    expected = (audio_seconds(media["voice_short"]) + audio_seconds(media["voice_long"])
                + probe(media["plain"]).duration)  # fmt: skip
    assert abs(info.duration - expected) <= 0.2
    assert abs(info.audio_duration - expected) <= 0.2
    assert abs(integrated_loudness(output) - -14.0) <= 1.0
    assert decode_errors(output) == ""
    head = output.read_bytes()[:200_000]
    assert head.find(b"moov") < head.find(b"mdat"), "+faststart puts the index first"
    assert "clip 3/3 fitted" in run.stderr
    # No leftovers: the video and its cut record (captions and the cut check read it).
    assert sorted(path.name for path in output.parent.iterdir()) == ["final.cut.json", "final.mp4"]


def test_it_plays_clips_in_clip_number_order(run_script, media, tmp_path):
    manifest = write_manifest(tmp_path, {"clips": [
        {"clip_number": 2, "video": str(media["blue"])},
        {"clip_number": 1, "video": str(media["red"])},
    ]})  # fmt: skip
    output = tmp_path / "out.mp4"
    run = assemble(run_script, manifest, output)
    assert run.returncode == 0, run
    frames, count = frames_as_arrays(output, 2)
    assert count == 60
    first, last = (frame.convert("L").getpixel((96, 54)) for frame in frames)
    assert first > last  # red is brighter in grey than blue: red came first


def test_clips_that_already_fit_are_joined_by_stream_copy(run_script, media, tmp_path):
    manifest = write_manifest(
        tmp_path,
        {
            "clips": [
                {"clip_number": 1, "video": str(media["hd1"]), "audio": str(media["voice_1s"])},
                {"clip_number": 2, "video": str(media["long"]), "audio": str(media["voice_short"])},
                {"clip_number": 3, "video": str(media["hd2"]), "audio": str(media["voice_1s"])},
            ],
            "music": {"path": str(media["music"]), "volume_db": -18},
        },
    )
    output = tmp_path / "out.mp4"
    run = assemble(run_script, manifest, output)
    assert run.returncode == 0, run
    assert run.result["clips_copied"] == 2
    assert "clip_number 1 used as it is" in run.stderr  # not even remuxed
    assert "clip_number 3 copied" in run.stderr  # remuxed to drop its own audio track
    assert decode_errors(output) == ""
    info = probe(output)
    expected = 1.0 + audio_seconds(media["voice_short"]) + 1.0
    assert abs(info.duration - expected) <= 0.2
    assert abs(integrated_loudness(output) - -14.0) <= 1.0


def test_an_explicit_duration_wins_over_the_narration(run_script, media, tmp_path):
    manifest = write_manifest(tmp_path, {"clips": [
        {"clip_number": 1, "video": str(media["long"]), "audio": str(media["voice_short"]),
         "duration": 1.5}]})  # fmt: skip
    output = tmp_path / "out.mp4"
    run = assemble(run_script, manifest, output)
    assert run.returncode == 0, run
    assert abs(probe(output).duration - 1.5) <= 0.05


@pytest.mark.parametrize(("document", "message"), [
    ('{"clips": [\n  {"clip_number": 1,}\n]}', "malformed JSON at line 2 column"),
    ("[]", "must be a JSON object"),
    ('{"clips": []}', '"clips" must be a non-empty list'),
    ('{"clips": [{"clip_number": "one", "video": "a.mp4"}]}', "clips[0].clip_number"),
    ('{"clips": [{"clip_number": 4, "audio": "a.mp3"}]}',
     'clip 4 (clips[0]): missing key "video"'),
    ('{"clips": [{"clip_number": 1, "video": "a.mp4", "duration": -2}]}',
     "clip 1 (clips[0]).duration"),
    ('{"clips": [{"clip_number": 1, "video": 5}]}', "clip 1 (clips[0]).video: must be a path"),
    ('{"clips": [{"clip_number": 1, "video": "v.mp4"}], "music": {"volume_db": -3}}',
     'music: missing key "path"'),
], ids=["syntax", "not-object", "no-clips", "bad-number", "no-video", "bad-duration",
        "video-not-path", "music-no-path"])  # fmt: skip
def test_it_exits_65_naming_what_is_wrong_with_the_manifest(
    run_script, tmp_path, document, message
):
    manifest = write_manifest(tmp_path, document)
    output = tmp_path / "out.mp4"
    run = assemble(run_script, manifest, output)
    assert run.returncode == 65, run
    assert message in run.error
    assert str(manifest) in run.error
    assert not output.exists()


def test_it_exits_65_naming_every_missing_or_unreadable_file_before_encoding(
    run_script, media, tmp_path
):
    garbage = tmp_path / "audio" / "s02.mp3"
    garbage.parent.mkdir()
    garbage.write_bytes(b"ID3 this is not audio" * 10)
    manifest = write_manifest(tmp_path, {"clips": [
        {"clip_number": 1, "video": str(media["long"]), "audio": "audio/missing.mp3"},
        {"clip_number": 2, "video": "videos/gone.mp4", "audio": "audio/s02.mp3"},
    ]})  # fmt: skip
    output = tmp_path / "out.mp4"
    run = assemble(run_script, manifest, output)
    assert run.returncode == 65, run
    assert f"clip 1: audio: {tmp_path / 'audio' / 'missing.mp3'}: file not found" in run.error
    assert f"clip 2: video: {tmp_path / 'videos' / 'gone.mp4'}: file not found" in run.error
    assert f"clip 2: audio: {garbage}: not readable media" in run.error
    assert "fitted" not in run.stderr
    assert not output.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["audio", "manifest.json"]


def test_it_exits_65_when_a_narration_has_no_audio_stream(run_script, media, tmp_path):
    manifest = write_manifest(
        tmp_path,
        {"clips": [{"clip_number": 7, "video": str(media["short"]), "audio": str(media["short"])}]},
    )
    run = assemble(run_script, manifest, tmp_path / "out.mp4")
    assert run.returncode == 65, run
    assert f"clip 7: audio: {media['short']}: has no audio stream" in run.error


def test_it_exits_65_for_a_missing_manifest(run_script, tmp_path):
    run = assemble(run_script, tmp_path / "nope.json", tmp_path / "out.mp4")
    assert run.returncode == 65, run
    assert "nope.json: file not found" in run.error


def test_it_exits_78_when_ffmpeg_cannot_be_found(run_script, media, tmp_path):
    manifest = write_manifest(tmp_path, {"clips": [{"clip_number": 1, "video": str(media["red"])}]})
    run = assemble(run_script, manifest, tmp_path / "out.mp4",
                   env={"FFMPEG_BINARY": str(tmp_path / "no-ffmpeg")})  # fmt: skip
    assert run.returncode == 78, run
    assert "FFMPEG_BINARY" in run.error


def test_a_sigkill_mid_assembly_leaves_nothing_at_the_output(script_env, media, tmp_path):
    manifest = write_manifest(tmp_path, {"clips": [
        {"clip_number": number, "video": str(media["long"]), "audio": str(media["voice_long"])}
        for number in range(1, 7)]})  # fmt: skip
    output = tmp_path / "out" / "final.mp4"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "assemble_video.py"), "--manifest", str(manifest),
         "--output", str(output)],
        env=script_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if output.parent.exists() and any(output.parent.iterdir()):
                break
            time.sleep(0.02)
        time.sleep(0.5)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        process.kill()
        process.communicate()
    assert not output.exists()
