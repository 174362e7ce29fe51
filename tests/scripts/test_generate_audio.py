import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.fakes.base import Reply, unused_port_url
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.fakes.media import mp3_bytes

from .conftest import FAKE_KEYS, SCRIPTS, VOICE_ID, probe

KEY = FAKE_KEYS["ELEVENLABS_API_KEY"]
TEXT = "In the heart of the forest, something stirs."


@pytest.fixture
def eleven():
    with FakeElevenLabs(api_key=KEY, voice_id=VOICE_ID) as fake:
        yield fake


@pytest.fixture
def eleven_env(eleven):
    return {"ELEVENLABS_API_KEY": KEY, "ELEVENLABS_VOICE_ID": VOICE_ID,
            "ELEVENLABS_API_BASE": eleven.url}  # fmt: skip


def speak(run_script, output, *extra, text=TEXT, env=None):
    return run_script("generate_audio.py", "--text", text, "--output", output, *extra, env=env)


def test_it_saves_the_narration_and_bills_the_characters_from_the_header(
    run_script, eleven, eleven_env, tmp_path
):
    eleven.character_header = "character-cost"
    eleven.queue(Reply(200, eleven.speech, {"Content-Type": "audio/mpeg", "character-cost": "41"}))
    output = tmp_path / "audio" / "s01.mp3"
    run = speak(run_script, output, env=eleven_env)
    assert run.returncode == 0, run
    assert run.result == {
        "ok": True,
        "outputs": [str(output)],
        "provider": "elevenlabs",
        "usage": {"characters": 41, "model": "eleven_multilingual_v2"},
    }
    assert output.read_bytes() == eleven.speech


def test_it_reads_the_x_character_count_header_too(run_script, eleven, eleven_env, tmp_path):
    eleven.queue(Reply(200, eleven.speech, {"x-character-count": "17"}))
    run = speak(run_script, tmp_path / "a.mp3", env=eleven_env)
    assert run.result["usage"]["characters"] == 17


def test_it_counts_the_text_when_no_header_reports_the_cost(
    run_script, eleven, eleven_env, tmp_path
):
    eleven.character_header = None
    run = speak(run_script, tmp_path / "a.mp3", env=eleven_env)
    assert run.result["usage"]["characters"] == len(TEXT)


def test_it_sends_the_request_shape_elevenlabs_expects(run_script, eleven, eleven_env, tmp_path):
    run = speak(run_script, tmp_path / "a.mp3", "--model", "eleven_v3", "--stability", "0.5",
                "--similarity", "0.8", "--style", "0.2", "--speed", "1.1",
                env=eleven_env)  # fmt: skip
    assert run.returncode == 0, run
    (request,) = eleven.requests
    assert request.method == "POST"
    assert request.path == f"/v1/text-to-speech/{VOICE_ID}"
    assert request.query == {"output_format": ["mp3_44100_128"]}
    assert request.headers["xi-api-key"] == KEY
    assert request.json == {
        "text": TEXT,
        "model_id": "eleven_v3",
        "voice_settings": {"stability": 0.5, "similarity_boost": 0.8, "style": 0.2,
                           "use_speaker_boost": True, "speed": 1.1},
    }  # fmt: skip


def test_it_uses_the_existing_defaults(run_script, eleven, eleven_env, tmp_path):
    speak(run_script, tmp_path / "a.mp3", env=eleven_env)
    settings = eleven.requests[0].json["voice_settings"]
    assert (settings["stability"], settings["similarity_boost"], settings["style"]) == (
        0.40, 0.75, 0.12)  # fmt: skip
    assert eleven.requests[0].json["model_id"] == "eleven_multilingual_v2"


@pytest.mark.parametrize(
    "reply",
    [FakeElevenLabs.busy(), FakeElevenLabs.busy("system_busy"),
     Reply.json_body(503, {"detail": "Service Unavailable"}),
     Reply.json_body(500, {"detail": {"status": "internal_error", "message": "oops"}})],
    ids=["429-concurrency", "429-system-busy", "503", "500"],
)  # fmt: skip
def test_it_exits_75_when_elevenlabs_is_busy_or_down(
    run_script, eleven, eleven_env, tmp_path, reply
):
    eleven.queue(reply)
    output = tmp_path / "a.mp3"
    run = speak(run_script, output, env=eleven_env)
    assert run.returncode == 75, run
    assert run.result["retriable"] is True
    assert run.result["status"] == reply.status
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []


def test_it_exits_65_naming_the_field_on_a_422(run_script, eleven, eleven_env, tmp_path):
    eleven.queue(FakeElevenLabs.validation(["body", "voice_settings", "stability"],
                                           "Input should be less than or equal to 1"))  # fmt: skip
    run = speak(run_script, tmp_path / "a.mp3", env=eleven_env)
    assert run.returncode == 65, run
    assert "body.voice_settings.stability: Input should be less than or equal to 1" in run.error
    assert run.result["status"] == 422


def test_it_exits_65_when_the_voice_does_not_exist(run_script, eleven, eleven_env, tmp_path):
    env = {**eleven_env, "ELEVENLABS_VOICE_ID": "no-such-voice"}
    run = speak(run_script, tmp_path / "a.mp3", env=env)
    assert run.returncode == 65, run
    assert "voice_not_found" in run.error
    assert eleven.requests[0].path == "/v1/text-to-speech/no-such-voice"


def test_it_exits_65_when_the_text_is_too_long_for_the_model(
    run_script, eleven, eleven_env, tmp_path
):
    eleven.queue(FakeElevenLabs.detail(400, "max_character_limit_exceeded", "Too long"))
    run = speak(run_script, tmp_path / "a.mp3", env=eleven_env)
    assert run.returncode == 65, run
    assert "max_character_limit_exceeded" in run.error


@pytest.mark.parametrize(
    "reply",
    [FakeElevenLabs.detail(401, "invalid_api_key", "Invalid API key"),
     FakeElevenLabs.detail(402, "payment_required", "Payment required"),
     FakeElevenLabs.detail(403, "missing_permissions", "Key lacks text_to_speech"),
     FakeElevenLabs.quota_exceeded()],
    ids=["401", "402", "403", "400-quota-exceeded"],
)  # fmt: skip
def test_it_exits_77_for_auth_and_credit_problems(run_script, eleven, eleven_env, tmp_path, reply):
    eleven.queue(reply)
    run = speak(run_script, tmp_path / "a.mp3", env=eleven_env)
    assert run.returncode == 77, run
    assert run.result["retriable"] is False


def test_it_exits_77_when_the_key_is_wrong(run_script, eleven, eleven_env, tmp_path):
    run = speak(run_script, tmp_path / "a.mp3", env={**eleven_env, "ELEVENLABS_API_KEY": "bad"})
    assert run.returncode == 77, run
    assert "invalid_api_key" in run.error


def test_it_exits_75_when_the_connection_is_refused(run_script, eleven_env, tmp_path):
    env = {**eleven_env, "ELEVENLABS_API_BASE": unused_port_url()}
    run = speak(run_script, tmp_path / "a.mp3", env=env)
    assert run.returncode == 75, run


def test_it_exits_75_when_elevenlabs_does_not_answer_in_time(
    run_script, eleven, eleven_env, tmp_path
):
    eleven.queue(Reply(hang=True))
    run = speak(run_script, tmp_path / "a.mp3", env={**eleven_env, "VIDEOGEN_HTTP_TIMEOUT": "0.5"})
    assert run.returncode == 75, run
    assert "timed out" in run.error


def test_it_exits_75_when_a_200_carries_no_audio(run_script, eleven, eleven_env, tmp_path):
    eleven.queue(Reply(200, b"<html>gateway</html>", {"Content-Type": "text/html"}))
    output = tmp_path / "a.mp3"
    run = speak(run_script, output, env=eleven_env)
    assert run.returncode == 75, run
    assert run.result["paid"] is True  # ElevenLabs charged for it: the orchestrator books it
    assert run.result["usage"] == {"characters": len(TEXT), "model": "eleven_multilingual_v2"}
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("missing", ["ELEVENLABS_API_KEY", "ELEVENLABS_VOICE_ID"])
def test_it_exits_78_naming_the_missing_variable(run_script, eleven_env, tmp_path, missing):
    env = dict(eleven_env)
    del env[missing]
    run = speak(run_script, tmp_path / "a.mp3", env=env)
    assert run.returncode == 78, run
    assert missing in run.error


@pytest.mark.parametrize("text", ["", "  \n "])
def test_it_exits_65_for_empty_text(run_script, eleven, eleven_env, tmp_path, text):
    run = speak(run_script, tmp_path / "a.mp3", text=text, env=eleven_env)
    assert run.returncode == 65, run
    assert "--text is empty" in run.error
    assert eleven.requests == []


@pytest.mark.parametrize(("flag", "value"), [("--stability", "1.5"), ("--similarity", "-0.1"),
                                             ("--style", "2"), ("--speed", "3")])  # fmt: skip
def test_it_exits_65_for_a_voice_setting_out_of_range(
    run_script, eleven_env, tmp_path, flag, value
):
    run = speak(run_script, tmp_path / "a.mp3", flag, value, env=eleven_env)
    assert run.returncode == 65, run
    assert flag in run.error


def test_a_sigkill_while_the_audio_streams_leaves_nothing_at_the_output(
    script_env, eleven, eleven_env, tmp_path
):
    body = mp3_bytes(3.0)
    eleven.queue(Reply(200, body, {"Content-Type": "audio/mpeg"}, chunk_delay=0.05,
                       chunk_size=1024))  # fmt: skip
    output = tmp_path / "audio" / "s01.mp3"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "generate_audio.py"), "--text", TEXT, "--output",
         str(output)],
        env={**script_env, **eleven_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        partial = []
        while time.monotonic() < deadline and not partial:
            if output.parent.exists():
                partial = [path for path in output.parent.glob(".s01.*tmp-*")
                           if path.stat().st_size > 2048]  # fmt: skip
            time.sleep(0.02)
        assert partial, "the audio never started streaming"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        process.kill()
        process.communicate()
    assert not output.exists()


def test_the_local_provider_speaks_for_as_long_as_the_text_needs(run_script, tmp_path):
    short, long = tmp_path / "short.mp3", tmp_path / "long.mp3"
    assert speak(run_script, short, "--provider", "local", text="Hello there.").returncode == 0
    run = speak(run_script, long, "--provider", "local", text=TEXT * 3)
    assert run.returncode == 0, run
    assert run.result["usage"]["characters"] == len(TEXT * 3)
    assert run.result["provider"] == "local"
    short_seconds, long_seconds = probe(short).audio_duration, probe(long).audio_duration
    assert long_seconds > short_seconds * 5
    if "espeak" not in run.result["usage"]["model"]:
        assert abs(long_seconds - len(TEXT * 3) / 14.5) < 0.15


def test_the_local_provider_is_deterministic(run_script, tmp_path):
    for name in ("a.mp3", "b.mp3"):
        assert speak(run_script, tmp_path / name, "--provider", "local").returncode == 0
    assert (tmp_path / "a.mp3").read_bytes() == (tmp_path / "b.mp3").read_bytes()


def test_a_sigterm_while_the_audio_streams_exits_75_and_cleans_up(
    script_env, eleven, eleven_env, tmp_path
):
    eleven.queue(Reply(200, mp3_bytes(3.0), {"Content-Type": "audio/mpeg"}, chunk_delay=0.05,
                       chunk_size=1024))  # fmt: skip
    output = tmp_path / "audio" / "s01.mp3"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "generate_audio.py"), "--text", TEXT, "--output",
         str(output)],
        env={**script_env, **eleven_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
            output.parent.exists() and any(output.parent.iterdir())
        ):
            time.sleep(0.02)
        time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 75
    assert json.loads(stderr.strip().splitlines()[-1])["error"].startswith("terminated by SIGTERM")
    assert list(output.parent.iterdir()) == []


def test_a_local_failure_after_paying_keeps_the_narration_and_the_retry_does_not_buy_again(
    run_script, eleven, eleven_env, tmp_path
):
    output = tmp_path / "audio" / "s01.mp3"
    output.mkdir(parents=True)  # the answer cannot be put in place: a local failure

    first = speak(run_script, output, env=eleven_env)
    assert first.returncode == 70, first
    assert first.result["paid"] is True
    assert first.result["usage"] == {"characters": len(TEXT), "model": "eleven_multilingual_v2"}
    raw = tmp_path / "audio" / "s01.raw.mp3"
    assert f"the paid answer is kept in {raw}" in first.error
    assert raw.read_bytes() == eleven.speech

    output.rmdir()
    second = speak(run_script, output, env=eleven_env)
    assert second.returncode == 0, second
    assert second.result["usage"] == {"characters": 0, "model": "eleven_multilingual_v2"}
    assert second.result["reused_raw"] is True
    assert len(eleven.requests) == 1
    assert output.read_bytes() == eleven.speech
    assert sorted(path.name for path in output.parent.iterdir()) == ["s01.mp3"]


def test_a_kept_narration_is_not_reused_for_another_voice_setting(
    run_script, eleven, eleven_env, tmp_path
):
    output = tmp_path / "s01.mp3"
    output.mkdir()
    assert speak(run_script, output, env=eleven_env).returncode == 70
    output.rmdir()

    run = speak(run_script, output, "--stability", "0.9", env=eleven_env)

    assert run.returncode == 0, run
    assert "reused_raw" not in run.result
    assert len(eleven.requests) == 2
