"""The shared helpers, tested in-process (scripts/ is on sys.path, as when a script runs)."""

import os

import _common
import pytest
from _common import ScriptError

import scripts._common as package_common


def test_it_is_importable_both_as_a_script_sibling_and_as_a_package_module():
    assert package_common.exit_code_for_status(429) == _common.exit_code_for_status(429) == 75


@pytest.mark.parametrize(("status", "code"), [
    (400, 65), (404, 65), (422, 65), (401, 77), (402, 77), (403, 77),
    (408, 75), (429, 75), (500, 75), (502, 75), (503, 75), (504, 75),
])  # fmt: skip
def test_http_statuses_map_to_the_documented_exit_codes(status, code):
    assert _common.exit_code_for_status(status) == code


def test_only_temporary_errors_are_retriable():
    assert ScriptError("x", 75).retriable
    assert not ScriptError("x", 65).retriable
    assert not ScriptError("x", 77).retriable


def test_atomic_output_replaces_the_target_only_on_success(tmp_path):
    target = tmp_path / "deep" / "out.png"
    with _common.atomic_output(target) as temporary:
        assert temporary.parent == target.parent
        assert temporary.name.startswith(".out.tmp-") and temporary.suffix == ".png"
        temporary.write_bytes(b"done")
    assert target.read_bytes() == b"done"

    with pytest.raises(RuntimeError), _common.atomic_output(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"done"
    assert [path.name for path in target.parent.iterdir()] == ["out.png"]


def test_secrets_are_read_from_the_environment_and_redacted(monkeypatch):
    monkeypatch.setenv("SOME_TEST_KEY", "sk-FAKE-redact-me")
    assert _common.secret("SOME_TEST_KEY") == "sk-FAKE-redact-me"
    assert _common.redact("auth failed for sk-FAKE-redact-me") == "auth failed for ***"


def test_a_missing_secret_is_a_configuration_error_naming_the_variable(monkeypatch):
    monkeypatch.delenv("SOME_ABSENT_KEY", raising=False)
    with pytest.raises(ScriptError) as raised:
        _common.secret("SOME_ABSENT_KEY")
    assert raised.value.exit_code == 78
    assert "SOME_ABSENT_KEY" in raised.value.message


def test_a_bad_ffmpeg_binary_setting_is_a_configuration_error(monkeypatch, tmp_path):
    monkeypatch.setenv("FFMPEG_BINARY", str(tmp_path / "missing"))
    with pytest.raises(ScriptError) as raised:
        _common.find_ffmpeg()
    assert raised.value.exit_code == 78


def test_a_bad_http_timeout_setting_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("VIDEOGEN_HTTP_TIMEOUT", "soon")
    with pytest.raises(ScriptError) as raised:
        _common.http_timeout()
    assert raised.value.exit_code == 78


@pytest.mark.parametrize(("value", "family", "rate", "bitrate"), [
    ("mp3_44100_128", "mp3", 44100, 128), ("pcm_16000", "pcm", 16000, None),
    ("opus_48000_64", "opus", 48000, 64),
])  # fmt: skip
def test_elevenlabs_output_formats_are_parsed(value, family, rate, bitrate):
    parsed = _common.parse_audio_format(value)
    assert (parsed.family, parsed.sample_rate, parsed.bitrate_kbps) == (family, rate, bitrate)


def test_the_local_speech_length_follows_the_text():
    assert _common.local_speech_seconds("x" * 145) == pytest.approx(10.0)
    assert _common.local_speech_seconds("Hi") == 0.6


def test_the_local_clip_motion_follows_the_prompt():
    assert "1.15-0.15" in _common.local_clip_filter("slow zoom out to reveal the valley", 150)
    assert "(1-(on/149))" in _common.local_clip_filter("pan left across the lake", 150)
    assert "1+0.15" in _common.local_clip_filter("Bulbasaur lifts its head", 150)


def test_environment_provider_must_be_one_the_script_knows(monkeypatch):
    class Args:
        provider = None

    monkeypatch.setenv("VIDEOGEN_PROVIDER", "kie")
    with pytest.raises(ScriptError) as raised:
        _common.resolve_provider(Args(), real="gemini")
    assert raised.value.exit_code == 78
    monkeypatch.setenv("VIDEOGEN_PROVIDER", "local")
    assert _common.resolve_provider(Args(), real="gemini") == "local"
    monkeypatch.delenv("VIDEOGEN_PROVIDER")
    assert _common.resolve_provider(Args(), real="gemini") == "gemini"


def test_temporary_files_are_named_after_the_pid(tmp_path):
    assert _common.temp_path_for(tmp_path / "final.mp4").name == f".final.tmp-{os.getpid()}.mp4"
