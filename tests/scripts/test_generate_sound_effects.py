import pytest

from tests.fakes.base import Reply, unused_port_url
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.fakes.media import write_fake_ffmpeg

from .conftest import FAKE_KEYS, integrated_loudness, probe

KEY = FAKE_KEYS["ELEVENLABS_API_KEY"]


@pytest.fixture
def eleven():
    with FakeElevenLabs(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def eleven_env(eleven):
    return {"ELEVENLABS_API_KEY": KEY, "ELEVENLABS_API_BASE": eleven.url}


def effect(run_script, output, *extra, text="wind through leaves", env=None):
    return run_script("generate_sound_effects.py", "--text", text, "--output", output, *extra,
                      env=env)  # fmt: skip


def test_it_saves_the_effect_normalized_to_the_target_volume(
    run_script, eleven, eleven_env, tmp_path
):
    output = tmp_path / "sfx" / "s01.mp3"
    run = effect(run_script, output, "--duration", "2", "--target-volume", "-24", env=eleven_env)
    assert run.returncode == 0, run
    assert run.result == {
        "ok": True,
        "outputs": [str(output)],
        "provider": "elevenlabs",
        "usage": {"sfx": 1, "sfx_seconds": 2.0, "model": "elevenlabs"},
    }
    assert abs(integrated_loudness(output) - -24) <= 1.0
    assert abs(probe(output).audio_duration - 2.0) < 0.15


def test_it_keeps_the_bytes_as_they_came_with_no_normalize(
    run_script, eleven, eleven_env, tmp_path
):
    output = tmp_path / "a.mp3"
    run = effect(run_script, output, "--no-normalize", env=eleven_env)
    assert run.returncode == 0, run
    assert output.read_bytes() == eleven.effect


def test_it_sends_the_request_shape_elevenlabs_expects(run_script, eleven, eleven_env, tmp_path):
    run = effect(run_script, tmp_path / "a.mp3", "--duration", "4.5", "--prompt-influence", "0.6",
                 "--format", "mp3_22050_32", "--no-normalize", env=eleven_env)  # fmt: skip
    assert run.returncode == 0, run
    (request,) = eleven.requests
    assert (request.method, request.path) == ("POST", "/v1/sound-generation")
    assert request.query == {"output_format": ["mp3_22050_32"]}
    assert request.headers["xi-api-key"] == KEY
    assert request.json == {"text": "wind through leaves", "duration_seconds": 4.5,
                            "prompt_influence": 0.6}  # fmt: skip


def test_it_uses_the_existing_defaults(run_script, eleven, eleven_env, tmp_path):
    run = effect(run_script, tmp_path / "a.mp3", env=eleven_env)
    assert run.returncode == 0, run
    request = eleven.requests[0]
    assert request.json["duration_seconds"] == 10
    assert request.json["prompt_influence"] == 0.3
    assert request.query == {"output_format": ["mp3_44100_128"]}


@pytest.mark.parametrize(("reply", "code"), [
    (FakeElevenLabs.busy(), 75),
    (Reply.json_body(503, {"detail": "Service Unavailable"}), 75),
    (FakeElevenLabs.validation(["body", "text"], "Field required"), 65),
    (FakeElevenLabs.detail(400, "invalid_request", "bad"), 65),
    (FakeElevenLabs.detail(401, "invalid_api_key", "Invalid API key"), 77),
    (FakeElevenLabs.detail(402, "payment_required", "Payment required"), 77),
    (FakeElevenLabs.detail(403, "missing_permissions", "no sound_generation"), 77),
], ids=["429", "503", "422", "400", "401", "402", "403"])  # fmt: skip
def test_it_classifies_elevenlabs_errors(run_script, eleven, eleven_env, tmp_path, reply, code):
    eleven.queue(reply)
    output = tmp_path / "a.mp3"
    run = effect(run_script, output, env=eleven_env)
    assert run.returncode == code, run
    assert run.result["status"] == reply.status
    assert not output.exists()


def test_it_exits_75_when_the_connection_is_refused(run_script, tmp_path):
    env = {"ELEVENLABS_API_KEY": KEY, "ELEVENLABS_API_BASE": unused_port_url()}
    run = effect(run_script, tmp_path / "a.mp3", env=env)
    assert run.returncode == 75, run


def test_it_exits_75_on_timeout(run_script, eleven, eleven_env, tmp_path):
    eleven.queue(Reply(hang=True))
    run = effect(run_script, tmp_path / "a.mp3", env={**eleven_env, "VIDEOGEN_HTTP_TIMEOUT": "0.5"})
    assert run.returncode == 75, run


def test_it_exits_78_when_the_key_is_missing(run_script, tmp_path):
    run = effect(run_script, tmp_path / "a.mp3")
    assert run.returncode == 78, run
    assert "ELEVENLABS_API_KEY" in run.error


@pytest.mark.parametrize("duration", ["0.2", "31", "nan"])
def test_it_exits_65_for_a_duration_out_of_range(
    run_script, eleven_env, eleven, tmp_path, duration
):
    run = effect(run_script, tmp_path / "a.mp3", "--duration", duration, env=eleven_env)
    assert run.returncode == 65, run
    assert "--duration must be between 0.5 and 30" in run.error
    assert eleven.requests == []


def test_it_exits_65_for_an_unknown_format(run_script, eleven_env, tmp_path):
    run = effect(run_script, tmp_path / "a.mp3", "--format", "wav", env=eleven_env)
    assert run.returncode == 65, run
    assert "--format 'wav'" in run.error


def test_it_exits_65_for_empty_text(run_script, eleven_env, tmp_path):
    run = effect(run_script, tmp_path / "a.mp3", text=" ", env=eleven_env)
    assert run.returncode == 65, run


def test_the_local_provider_makes_the_asked_duration_at_the_target_loudness(run_script, tmp_path):
    output = tmp_path / "a.mp3"
    run = effect(run_script, output, "--provider", "local", "--duration", "3.5",
                 text="distant birdsong and wind")  # fmt: skip
    assert run.returncode == 0, run
    assert run.result["usage"] == {"sfx": 1, "sfx_seconds": 3.5, "model": "local"}
    assert abs(probe(output).audio_duration - 3.5) < 0.1
    assert abs(integrated_loudness(output) - -30) <= 1.0


def test_the_local_provider_is_deterministic_per_description(run_script, tmp_path):
    for name, text in (("a.mp3", "rain"), ("b.mp3", "rain"), ("c.mp3", "thunder rumble")):
        assert effect(run_script, tmp_path / name, "--provider", "local", "--duration", "1",
                      text=text).returncode == 0  # fmt: skip
    assert (tmp_path / "a.mp3").read_bytes() == (tmp_path / "b.mp3").read_bytes()
    assert (tmp_path / "a.mp3").read_bytes() != (tmp_path / "c.mp3").read_bytes()


# --------------------------------------------------------------------------- the paid raw answer


def sound_generations(eleven) -> int:
    return sum(request.path == "/v1/sound-generation" for request in eleven.requests)


def test_a_local_failure_after_paying_keeps_the_raw_answer_and_the_retry_does_not_buy_again(
    run_script, eleven, eleven_env, tmp_path
):
    """The sound is bought, then normalization fails locally: exit 70 (not a provider error),
    the paid usage in the error line, the answer kept; the retry starts from it."""
    fails_on_raw = write_fake_ffmpeg(tmp_path, version="5.1.9-0+deb12u1", failing=".raw.mp3")
    output = tmp_path / "sfx" / "s01.mp3"
    raw = tmp_path / "sfx" / "s01.raw.mp3"

    first = effect(run_script, output, "--duration", "2",
                   env={**eleven_env, "FFMPEG_BINARY": fails_on_raw})  # fmt: skip
    assert first.returncode == 70, first
    assert first.result["usage"] == {"sfx": 1, "sfx_seconds": 2.0, "model": "elevenlabs"}
    assert first.result["paid"] is True
    assert first.result["retriable"] is False
    assert f"the paid answer is kept in {raw}" in first.error
    assert raw.read_bytes() == eleven.effect
    assert not output.exists()

    second = effect(run_script, output, "--duration", "2", env=eleven_env)
    assert second.returncode == 0, second
    assert second.result == {
        "ok": True,
        "outputs": [str(output)],
        "provider": "elevenlabs",
        "usage": {"sfx": 0, "sfx_seconds": 0, "model": "elevenlabs"},
        "reused_raw": True,
    }
    assert sound_generations(eleven) == 1
    assert abs(integrated_loudness(output) - -30) <= 1.0
    assert sorted(path.name for path in output.parent.iterdir()) == ["s01.mp3"]


def test_a_failed_reuse_is_not_booked_again(run_script, eleven, eleven_env, tmp_path):
    fails_on_raw = write_fake_ffmpeg(tmp_path, failing=".raw.mp3")
    output = tmp_path / "s01.mp3"
    env = {**eleven_env, "FFMPEG_BINARY": fails_on_raw}
    assert effect(run_script, output, env=env).result["paid"] is True

    again = effect(run_script, output, env=env)

    assert again.returncode == 70, again
    assert "paid" not in again.result and "usage" not in again.result
    assert sound_generations(eleven) == 1


def test_a_corrupt_raw_answer_is_discarded_and_bought_again(
    run_script, eleven, eleven_env, tmp_path
):
    fails_on_raw = write_fake_ffmpeg(tmp_path, failing=".raw.mp3")
    output = tmp_path / "s01.mp3"
    assert effect(run_script, output, env={**eleven_env, "FFMPEG_BINARY": fails_on_raw}
                  ).returncode == 70  # fmt: skip
    (tmp_path / "s01.raw.mp3").write_bytes(b"ID3 but not really an mp3")

    run = effect(run_script, output, env=eleven_env)

    assert run.returncode == 0, run
    assert run.result["usage"]["sfx"] == 1 and "reused_raw" not in run.result
    assert sound_generations(eleven) == 2
    assert "kept raw output is not valid" in run.stderr


def test_a_raw_answer_made_for_another_request_is_never_reused(
    run_script, eleven, eleven_env, tmp_path
):
    fails_on_raw = write_fake_ffmpeg(tmp_path, failing=".raw.mp3")
    output = tmp_path / "s01.mp3"
    assert effect(run_script, output, text="wind", env={**eleven_env,
                  "FFMPEG_BINARY": fails_on_raw}).returncode == 70  # fmt: skip

    run = effect(run_script, output, text="thunder", env=eleven_env)

    assert run.returncode == 0, run
    assert run.result["usage"]["sfx"] == 1
    assert [request.json["text"] for request in eleven.requests] == ["wind", "thunder"]
    assert "made for another request; discarded" in run.stderr


def test_a_non_audio_answer_is_booked_as_paid_and_not_kept(
    run_script, eleven, eleven_env, tmp_path
):
    eleven.queue(Reply(200, b"<html>oops</html>", {"Content-Type": "audio/mpeg"}))
    output = tmp_path / "s01.mp3"

    run = effect(run_script, output, env=eleven_env)

    assert run.returncode == 75, run
    assert run.result["paid"] is True and run.result["usage"]["sfx"] == 1
    assert list(tmp_path.iterdir()) == []
