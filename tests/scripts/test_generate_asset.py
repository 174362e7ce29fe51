import base64

import pytest
from PIL import Image

from tests.fakes.base import Reply, unused_port_url
from tests.fakes.gemini import FakeGemini
from tests.fakes.media import jpeg_bytes, png_bytes

from .conftest import FAKE_KEYS

KEY = FAKE_KEYS["GEMINI_API_KEY"]


@pytest.fixture
def gemini():
    with FakeGemini(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def gemini_env(gemini):
    return {"GEMINI_API_KEY": KEY, "GEMINI_API_BASE": gemini.url}


def test_it_saves_the_gemini_image_as_png_and_reports_one_image(
    run_script, gemini, gemini_env, tmp_path
):
    output = tmp_path / "assets" / "forest.png"
    run = run_script("generate_asset.py", "--prompt", "a mossy forest", "--output", output,
                     env=gemini_env)  # fmt: skip
    assert run.returncode == 0, run
    assert run.result == {
        "ok": True,
        "outputs": [str(output)],
        "provider": "gemini",
        "usage": {"images": 1, "model": "gemini-2.5-flash-image"},
    }
    assert Image.open(output).format == "PNG"


def test_it_sends_the_request_shape_gemini_expects(
    run_script, gemini, gemini_env, tmp_path, write_png
):
    reference = write_png("ref.png")
    run = run_script(
        "generate_asset.py", "--prompt", "Bulbasaur", "--output", tmp_path / "a.png",
        "--reference-image", reference, "--aspect-ratio", "1:1", env=gemini_env,
    )  # fmt: skip
    assert run.returncode == 0, run
    (request,) = gemini.requests
    assert request.method == "POST"
    assert request.path == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert request.headers["x-goog-api-key"] == KEY
    assert "key" not in request.query  # the key travels in the header, not the URL
    body = request.json
    text_part, image_part = body["contents"][0]["parts"]
    assert body["contents"][0]["role"] == "user"
    assert text_part == {"text": "Bulbasaur"}
    assert image_part["inlineData"]["mimeType"] == "image/png"
    assert base64.b64decode(image_part["inlineData"]["data"]) == reference.read_bytes()
    assert body["generationConfig"] == {
        "responseModalities": ["IMAGE"],
        "imageConfig": {"aspectRatio": "1:1"},
    }


def test_it_takes_the_model_from_the_flag_or_the_environment(
    run_script, gemini, gemini_env, tmp_path
):
    env = {**gemini_env, "GEMINI_IMAGE_MODEL": "gemini-3-pro-image-preview"}
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png", env=env)
    assert run.returncode == 0, run
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "b.png",
                     "--model", "custom-model", env=env)  # fmt: skip
    assert run.result["usage"]["model"] == "custom-model"
    assert [request.path.split("/")[-1] for request in gemini.requests] == [
        "gemini-3-pro-image-preview:generateContent",
        "custom-model:generateContent",
    ]


def test_it_converts_a_jpeg_answer_to_png(run_script, gemini, gemini_env, tmp_path):
    gemini.queue(FakeGemini.image_reply(jpeg_bytes(), "image/jpeg", text="Here you go"))
    output = tmp_path / "a.png"
    run = run_script("generate_asset.py", "--prompt", "x", "--output", output, env=gemini_env)
    assert run.returncode == 0, run
    assert Image.open(output).format == "PNG"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_it_exits_75_when_gemini_answers_a_temporary_error(
    run_script, gemini, gemini_env, tmp_path, status
):
    gemini.queue(FakeGemini.error(status))
    output = tmp_path / "a.png"
    run = run_script("generate_asset.py", "--prompt", "x", "--output", output, env=gemini_env)
    assert run.returncode == 75, run
    assert run.result["retriable"] is True
    assert run.result["status"] == status
    assert "Gemini" in run.error
    assert not output.exists()


@pytest.mark.parametrize("status", [400, 404])
def test_it_exits_65_when_gemini_rejects_the_request(
    run_script, gemini, gemini_env, tmp_path, status
):
    gemini.queue(FakeGemini.error(status, "Unsupported aspect ratio"))
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png",
                     env=gemini_env)  # fmt: skip
    assert run.returncode == 65, run
    assert run.result == {
        "ok": False,
        "error": run.error,
        "retriable": False,
        "status": status,
    }
    assert "Unsupported aspect ratio" in run.error


@pytest.mark.parametrize("status", [401, 402, 403])
def test_it_exits_77_when_gemini_refuses_the_credentials(
    run_script, gemini, gemini_env, tmp_path, status
):
    gemini.queue(FakeGemini.error(status, "Permission denied"))
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png",
                     env=gemini_env)  # fmt: skip
    assert run.returncode == 77, run
    assert run.result["retriable"] is False


def test_it_exits_77_for_an_invalid_key_although_google_says_400(
    run_script, gemini, gemini_env, tmp_path
):
    env = {**gemini_env, "GEMINI_API_KEY": "sk-FAKE-wrong-key"}
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png", env=env)
    assert run.returncode == 77, run
    assert "API key not valid" in run.error
    assert "sk-FAKE-wrong-key" not in run.stderr


@pytest.mark.parametrize("reason", ["IMAGE_SAFETY", "PROHIBITED_CONTENT", "NO_IMAGE"])
def test_it_exits_65_with_the_reason_when_no_image_comes_back(
    run_script, gemini, gemini_env, tmp_path, reason
):
    gemini.queue(FakeGemini.blocked(reason, text="I can't draw that."))
    output = tmp_path / "a.png"
    run = run_script("generate_asset.py", "--prompt", "x", "--output", output, env=gemini_env)
    assert run.returncode == 65, run
    assert reason in run.error
    assert "I can't draw that." in run.error
    assert not output.exists()


def test_it_exits_65_when_the_prompt_itself_is_blocked(run_script, gemini, gemini_env, tmp_path):
    gemini.queue(FakeGemini.prompt_blocked("SAFETY"))
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png",
                     env=gemini_env)  # fmt: skip
    assert run.returncode == 65, run
    assert "blockReason SAFETY" in run.error


def test_it_exits_75_when_the_connection_is_refused(run_script, tmp_path):
    env = {"GEMINI_API_KEY": KEY, "GEMINI_API_BASE": unused_port_url()}
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png", env=env)
    assert run.returncode == 75, run
    assert "network error" in run.error
    assert run.result["status"] is None


def test_it_exits_75_when_gemini_does_not_answer_in_time(run_script, gemini, gemini_env, tmp_path):
    gemini.queue(Reply(hang=True))
    env = {**gemini_env, "VIDEOGEN_HTTP_TIMEOUT": "0.5"}
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png", env=env)
    assert run.returncode == 75, run
    assert "timed out after 0.5 s" in run.error


def test_it_exits_78_naming_the_variable_when_the_key_is_missing(run_script, tmp_path):
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png")
    assert run.returncode == 78, run
    assert "GEMINI_API_KEY" in run.error


def test_it_has_no_flag_that_takes_the_key(run_script, tmp_path):
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png",
                     "--api-key", "sk-FAKE-x")  # fmt: skip
    assert run.returncode == 2


@pytest.mark.parametrize("prompt", ["", "   "])
def test_it_exits_65_for_an_empty_prompt(run_script, tmp_path, prompt):
    run = run_script("generate_asset.py", "--prompt", prompt, "--output", tmp_path / "a.png",
                     "--provider", "local")  # fmt: skip
    assert run.returncode == 65, run
    assert "--prompt is empty" in run.error


def test_it_exits_65_naming_a_missing_reference_image(run_script, tmp_path):
    missing = tmp_path / "nope.png"
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png",
                     "--reference-image", missing, "--provider", "local")  # fmt: skip
    assert run.returncode == 65, run
    assert str(missing) in run.error and "file not found" in run.error


def test_it_exits_65_for_a_reference_image_that_is_not_an_image(run_script, gemini_env, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(png_bytes()[:40])
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png",
                     "--reference-image", broken, env=gemini_env)  # fmt: skip
    assert run.returncode == 65, run
    assert "not a readable image" in run.error


@pytest.mark.parametrize(("ratio", "size"), [("16:9", (1344, 768)), ("1:1", (1024, 1024))])
def test_the_local_provider_draws_a_png_of_geminis_size(run_script, tmp_path, ratio, size):
    output = tmp_path / "a.png"
    run = run_script("generate_asset.py", "--prompt", "golden forest at sunset", "--output",
                     output, "--aspect-ratio", ratio, "--provider", "local")  # fmt: skip
    assert run.returncode == 0, run
    assert run.result["provider"] == "local"
    assert run.result["usage"]["images"] == 1
    image = Image.open(output)
    assert (image.format, image.size) == ("PNG", size)
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert len(colours) > 50, "the local image should not be a blank frame"


def test_the_local_provider_is_deterministic_and_follows_the_prompt(run_script, tmp_path):
    def render(name, prompt):
        run_script("generate_asset.py", "--prompt", prompt, "--output", tmp_path / name,
                   "--provider", "local")  # fmt: skip
        return (tmp_path / name).read_bytes()

    assert render("a.png", "a blue lake") == render("b.png", "a blue lake")
    assert render("c.png", "a red desert") != render("a.png", "a blue lake")


def test_videogen_provider_sets_the_default_provider(run_script, tmp_path):
    run = run_script("generate_asset.py", "--prompt", "x", "--output", tmp_path / "a.png",
                     env={"VIDEOGEN_PROVIDER": "local"})  # fmt: skip
    assert run.returncode == 0, run
    assert run.result["provider"] == "local"
