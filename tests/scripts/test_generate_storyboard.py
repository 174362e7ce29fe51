"""scripts/generate_storyboard.py: the writer, against a fake of Gemini's text API and offline."""

import copy
import json
from pathlib import Path

import pytest
import yaml

from core.text.channel_brief import brief_for_writer
from core.text.narration import narration_seconds
from core.text.storyboard import storyboard_parse
from tests.fakes.base import unused_port_url
from tests.fakes.gemini import FakeGemini

from .conftest import FAKE_KEYS

KEY = FAKE_KEYS["GEMINI_API_KEY"]
TOPIC = "the secret life of axolotls"

# A storyboard as the model would answer it: the response schema's shape (nulls included).
ANSWER = {
    "title": "The Secret Life of Axolotls",
    "atmosphere": "clear green water, soft light, nature documentary",
    "description": "How the axolotl regrows what it loses.",
    "tags": ["axolotl", "nature documentary"],
    "thumbnail": "s01",
    "assets": [
        {"id": "axolotl", "kind": "character", "prompt": "an axolotl, full body, plain background"},
        {"id": "pond", "kind": "environment", "prompt": "a shallow weedy pond, no animals"},
        {"id": "lab", "kind": "environment", "prompt": "a quiet aquarium tank, no animals"},
    ],
    "scenes": [
        {
            "id": f"s0{number}",
            "composite": {"environment": "pond" if number % 2 else "lab", "character": "axolotl"},
            "split": None,
            "motion": "slow dolly in",
            "narration": f"Line {number} of the story.",
            "sfx": "",
            "duration": 5,
        }
        for number in range(1, 5)
    ],
}


def answer(**changes):
    document = copy.deepcopy(ANSWER)
    document.update(changes)
    return document


def with_unknown_environment():
    document = answer()
    document["scenes"][2]["composite"]["environment"] = "lake"
    return document


@pytest.fixture
def gemini():
    with FakeGemini(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def gemini_env(gemini):
    return {"GEMINI_API_KEY": KEY, "GEMINI_API_BASE": gemini.url}


@pytest.fixture
def write_storyboard(run_script, tmp_path):
    def run(*args, env=None, output=None):
        output = output or tmp_path / "drafts" / "storyboard.yaml"
        arguments = ["--topic", TOPIC, "--output", output, "--scenes", "4", *args]
        return run_script("generate_storyboard.py", *arguments, env=env), output

    return run


def assert_nothing_written(output: Path):
    assert not output.exists()
    if output.parent.exists():
        assert list(output.parent.iterdir()) == []  # no temporary file left either


# --- Gemini: the request and a good answer ----------------------------------------------------


def test_it_writes_gemini_s_storyboard_as_yaml_and_reports_its_tokens(
    gemini, gemini_env, write_storyboard
):
    gemini.answer_text(
        FakeGemini.json_reply(answer(), prompt_tokens=1500, output_tokens=2100, thoughts_tokens=300)
    )
    run, output = write_storyboard("--channel", "pokechannel1", env=gemini_env)
    assert run.returncode == 0, run
    assert run.result == {
        "ok": True,
        "outputs": [str(output)],
        "provider": "gemini",
        "usage": {"model": "gemini-3.8-flash", "calls": 1, "input_tokens": 1500,
                  "output_tokens": 2400},
    }  # fmt: skip
    storyboard = storyboard_parse(output.read_text(), source=str(output))
    assert storyboard["channel"] == "pokechannel1"
    assert [scene["id"] for scene in storyboard["scenes"]] == ["s01", "s02", "s03", "s04"]
    assert storyboard["scenes"][1]["composite"] == {
        "environment": "lab",
        "character": "axolotl",
        "scale": 1.0,
    }
    assert "split: null" not in output.read_text()  # written as a person would write it


def test_it_sends_the_request_shape_gemini_expects(gemini, gemini_env, write_storyboard, tmp_path):
    brief = tmp_path / "brief.json"
    document = brief_for_writer(
        {"tone": "hushed and warm", "visual_style": "soft green light", "scene_count": 4,
         "clip_seconds": 5},
        language="de",
        default_tags=["natur"],
    )  # fmt: skip
    brief.write_text(json.dumps(document))
    gemini.answer_text(json.dumps(answer()))
    run, _ = write_storyboard(
        "--direction", "how it regrows its limbs", "--channel-brief", brief, env=gemini_env
    )
    assert run.returncode == 0, run
    (request,) = gemini.requests
    assert request.method == "POST"
    assert request.path == "/v1beta/models/gemini-3.8-flash:generateContent"
    assert request.headers["x-goog-api-key"] == KEY
    assert request.headers["content-type"] == "application/json"
    assert "key" not in request.query  # the key travels in the header, not the URL
    body = request.json
    assert body["contents"] == [
        {
            "role": "user",
            "parts": [
                {
                    "text": f"Topic: {TOPIC}\nStory direction: how it regrows its limbs\n"
                    "Write the storyboard as JSON."
                }
            ],
        }
    ]
    system = body["systemInstruction"]["parts"][0]["text"]
    for expected in ("exactly 4 scenes", "each 5 seconds long", "Narrator tone: hushed and warm",
                     "soft green light", "language 'de'", "natur", "Never use < or >"):  # fmt: skip
        assert expected in system
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["temperature"] == 0.9
    schema = config["responseSchema"]
    assert schema["type"] == "OBJECT"
    assert set(schema["required"]) == {"title", "atmosphere", "description", "tags", "assets",
                                       "scenes"}  # fmt: skip
    scenes = schema["properties"]["scenes"]
    assert scenes["maxItems"] == 4
    assert scenes["items"]["properties"]["composite"]["nullable"] is True
    assert schema["properties"]["assets"]["items"]["properties"]["kind"]["enum"] == [
        "character", "environment", "prop",
    ]  # fmt: skip


def test_it_takes_the_model_from_the_flag_or_the_environment(gemini, gemini_env, write_storyboard):
    gemini.answer_text(json.dumps(answer()), json.dumps(answer()))
    env = {**gemini_env, "GEMINI_TEXT_MODEL": "gemini-3.5-flash-lite"}
    run, _ = write_storyboard(env=env)
    assert run.result["usage"]["model"] == "gemini-3.5-flash-lite"
    run, _ = write_storyboard("--model", "custom-model", env=env)
    assert run.result["usage"]["model"] == "custom-model"
    assert [request.path.split("/")[-1] for request in gemini.requests] == [
        "gemini-3.5-flash-lite:generateContent",
        "custom-model:generateContent",
    ]


def test_it_puts_the_description_into_the_channel_s_template(
    gemini, gemini_env, write_storyboard, tmp_path
):
    brief = tmp_path / "brief.yaml"
    brief.write_text("description_template: |\n  {description}\n\n  Made with AI.\n")
    gemini.answer_text(json.dumps(answer(atmosphere=None)))
    run, output = write_storyboard("--channel-brief", brief, env=gemini_env)
    assert run.returncode == 0, run
    storyboard = storyboard_parse(output.read_text())
    assert storyboard["description"] == "How the axolotl regrows what it loses.\n\nMade with AI."


# --- Gemini: invalid answers ------------------------------------------------------------------


def test_a_schema_valid_but_invalid_storyboard_is_retried_once_with_the_errors_then_refused(
    gemini, gemini_env, write_storyboard
):
    gemini.answer_text(
        FakeGemini.json_reply(with_unknown_environment(), prompt_tokens=1000, output_tokens=800),
        FakeGemini.json_reply(with_unknown_environment(), prompt_tokens=2000, output_tokens=800),
    )
    run, output = write_storyboard(env=gemini_env)
    assert run.returncode == 65, run
    assert run.result["retriable"] is False
    assert run.error.startswith("Gemini's storyboard is invalid, also after a second try")
    assert "draft: scenes[2].composite.environment: unknown asset 'lake'" in run.error
    assert run.result["usage"] == {
        "model": "gemini-3.8-flash", "calls": 2, "input_tokens": 3000, "output_tokens": 1600,
    }  # fmt: skip
    first, second = gemini.requests
    assert len(second.json["contents"]) == 3
    user, model, correction = second.json["contents"]
    assert user == first.json["contents"][0]
    assert model["role"] == "model"
    assert json.loads(model["parts"][0]["text"]) == with_unknown_environment()
    assert correction["role"] == "user"
    assert "scenes[2].composite.environment: unknown asset 'lake'" in correction["parts"][0]["text"]
    assert_nothing_written(output)


def test_an_answer_corrected_on_the_second_call_is_written_and_both_calls_are_reported(
    gemini, gemini_env, write_storyboard
):
    too_long = answer(description="é" * 2600)
    gemini.answer_text(
        FakeGemini.json_reply(too_long, prompt_tokens=1000, output_tokens=700),
        FakeGemini.json_reply(answer(), prompt_tokens=1900, output_tokens=650),
    )
    run, output = write_storyboard(env=gemini_env)
    assert run.returncode == 0, run
    assert run.result["usage"] == {
        "model": "gemini-3.8-flash", "calls": 2, "input_tokens": 2900, "output_tokens": 1350,
    }  # fmt: skip
    correction = gemini.requests[1].json["contents"][2]["parts"][0]["text"]
    assert "description: 5,200 bytes, YouTube allows 5,000 (UTF-8)" in correction
    assert storyboard_parse(output.read_text())["description"] == ANSWER["description"]


@pytest.mark.parametrize(
    "bad_answer, error",
    [
        (answer(scenes=ANSWER["scenes"][:3]), "draft: scenes: 3 scenes, asked for 4"),
        (answer(title="x" * 120), "draft: title: 120 characters, YouTube allows 1-100"),
        ("this is not json", "draft: the answer is not JSON"),
    ],
)
def test_every_kind_of_invalid_answer_is_refused_with_its_error(
    gemini, gemini_env, write_storyboard, bad_answer, error
):
    text = bad_answer if isinstance(bad_answer, str) else json.dumps(bad_answer)
    gemini.answer_text(text, text)
    run, output = write_storyboard(env=gemini_env)
    assert run.returncode == 65, run
    assert error in run.error
    assert len(gemini.requests) == 2
    assert_nothing_written(output)


# --- Gemini: errors and blocks ------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, code, retriable",
    [
        (FakeGemini.error(429, "Resource has been exhausted (e.g. check quota)."), 75, True),
        (FakeGemini.error(503, "The model is overloaded."), 75, True),
        (FakeGemini.error(500), 75, True),
        (FakeGemini.error(401, "Request had invalid authentication credentials."), 77, False),
        (FakeGemini.error(403, "Permission denied on resource project."), 77, False),
        (FakeGemini.error(400, "* GenerateContentRequest.model: unexpected model name"), 65, False),
    ],
)
def test_http_errors_map_to_exit_codes(
    gemini, gemini_env, write_storyboard, reply, code, retriable
):
    gemini.queue(reply)
    run, output = write_storyboard(env=gemini_env)
    assert run.returncode == code, run
    assert run.result["retriable"] is retriable
    assert run.result["status"] == reply.status
    assert GOOGLE_STATUS_NAME[reply.status] in run.error
    assert "usage" not in run.result  # nothing was answered, nothing to pay
    assert_nothing_written(output)


GOOGLE_STATUS_NAME = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                      429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}  # fmt: skip


def test_a_wrong_key_is_an_auth_error_even_though_google_answers_400(gemini, write_storyboard):
    run, _ = write_storyboard(
        env={"GEMINI_API_KEY": FAKE_KEYS["KIE_API_KEY"], "GEMINI_API_BASE": gemini.url}
    )
    assert run.returncode == 77, run
    assert "API key not valid" in run.error


def test_a_missing_key_is_a_configuration_error_and_nothing_is_sent(gemini, write_storyboard):
    run, _ = write_storyboard(env={"GEMINI_API_BASE": gemini.url})
    assert run.returncode == 78, run
    assert "GEMINI_API_KEY" in run.error
    assert gemini.requests == []


def test_an_unreachable_server_is_temporary(write_storyboard):
    run, _ = write_storyboard(env={"GEMINI_API_KEY": KEY, "GEMINI_API_BASE": unused_port_url()})
    assert run.returncode == 75, run
    assert run.result["retriable"] is True


@pytest.mark.parametrize(
    "reply, code, words",
    [
        (FakeGemini.prompt_blocked("SAFETY"), 65, "blocked the prompt: blockReason SAFETY"),
        (FakeGemini.prompt_blocked("PROHIBITED_CONTENT"), 65, "blockReason PROHIBITED_CONTENT"),
        (FakeGemini.blocked("SAFETY"), 65, "no usable storyboard: finishReason SAFETY"),
        (FakeGemini.blocked("RECITATION"), 65, "finishReason RECITATION"),
        (FakeGemini.text_reply('{"title": "The Sec', finish_reason="MAX_TOKENS"), 75,
         "cut off (finishReason MAX_TOKENS)"),
    ],
)  # fmt: skip
def test_a_safety_block_is_refused_and_a_cut_off_answer_is_temporary(
    gemini, gemini_env, write_storyboard, reply, code, words
):
    gemini.answer_text(reply)
    run, output = write_storyboard(env=gemini_env)
    assert run.returncode == code, run
    assert words in run.error
    assert run.result["usage"]["calls"] == 1  # the prompt was read, and is billed
    assert len(gemini.requests) == 1
    assert_nothing_written(output)


def test_a_429_on_the_second_call_reports_what_the_first_one_spent(
    gemini, gemini_env, write_storyboard
):
    gemini.answer_text(
        FakeGemini.json_reply(with_unknown_environment(), prompt_tokens=1000, output_tokens=800),
        FakeGemini.error(429),
    )
    run, _ = write_storyboard(env=gemini_env)
    assert run.returncode == 75, run
    assert run.result["usage"] == {
        "model": "gemini-3.8-flash", "calls": 1, "input_tokens": 1000, "output_tokens": 800,
    }  # fmt: skip


def test_the_fake_refuses_a_request_google_would_refuse(gemini):
    """The fake is as strict as Google: our client's request passes only because it is right."""
    with pytest.raises(Exception, match="response_mime_type must be application/json"):
        FakeGemini.check_request({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generationConfig": {"responseSchema": {"type": "OBJECT",
                                                    "properties": {"a": {"type": "STRING"}}}},
        })  # fmt: skip
    with pytest.raises(Exception, match="should be non-empty for OBJECT type"):
        FakeGemini.check_request({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generationConfig": {"responseMimeType": "application/json",
                                 "responseSchema": {"type": "OBJECT"}},
        })  # fmt: skip
    with pytest.raises(Exception, match="valid role"):
        FakeGemini.check_request({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]})
    with pytest.raises(Exception, match='Unknown name "additionalProperties"'):
        FakeGemini.check_request({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generationConfig": {"responseMimeType": "application/json", "responseSchema": {
                "type": "OBJECT", "properties": {"a": {"type": "STRING"}},
                "additionalProperties": False}},
        })  # fmt: skip


# --- Local ------------------------------------------------------------------------------------

TOPICS = [
    ("the secret life of axolotls", "focus on how they regrow limbs; calm tone"),
    ("how bees build a city", ""),
    ("ancient ruins of the desert at night", "tell it as a mystery"),
    ("snow leopards", "a mother teaches her cub to hunt, then lets it go"),
    ("<b>Pokémon</b> at the river", "show the river at dawn, <3"),
]


def test_the_local_writer_drafts_a_valid_storyboard_for_any_topic(run_script, tmp_path):
    titles, subjects = set(), set()
    for number, (topic, direction) in enumerate(TOPICS):
        output = tmp_path / f"draft{number}.yaml"
        run = run_script("generate_storyboard.py", "--provider", "local", "--topic", topic,
                         "--direction", direction, "--output", output, "--scenes", 6 + number,
                         "--channel", "pokechannel1")  # fmt: skip
        assert run.returncode == 0, run
        assert run.result["usage"] == {
            "model": "local", "calls": 0, "input_tokens": 0, "output_tokens": 0,
        }  # fmt: skip
        storyboard = storyboard_parse(output.read_text(), source=str(output))
        assert len(storyboard["scenes"]) == 6 + number
        assert storyboard["channel"] == "pokechannel1"
        assert any(scene["split"] for scene in storyboard["scenes"])
        assert len({scene["narration"] for scene in storyboard["scenes"]}) >= 5
        titles.add(storyboard["title"])
        subjects.add(storyboard["assets"][0]["id"])
    assert len(titles) == len(TOPICS) and len(subjects) == len(TOPICS)


def test_the_local_writer_is_deterministic(run_script, tmp_path):
    outputs = []
    for name in ("one.yaml", "two.yaml"):
        run = run_script("generate_storyboard.py", "--provider", "local", "--topic", TOPIC,
                         "--output", tmp_path / name)  # fmt: skip
        assert run.returncode == 0, run
        outputs.append((tmp_path / name).read_text())
    assert outputs[0] == outputs[1]


def test_the_local_writer_follows_the_brief(run_script, tmp_path):
    brief = tmp_path / "brief.yaml"
    brief.write_text(yaml.safe_dump(brief_for_writer(
        {"visual_style": "misty golden-hour light", "scene_count": 5, "clip_seconds": 5,
         "description_template": "{description}\n\n" + "Links and credits. " * 240},
        language="en",
        default_tags=["pokemon", "nature documentary"],
    )))  # fmt: skip
    output = tmp_path / "draft.json"
    run = run_script("generate_storyboard.py", "--provider", "local", "--topic", "x " * 300,
                     "--channel-brief", brief, "--output", output)  # fmt: skip
    assert run.returncode == 0, run
    storyboard = storyboard_parse(output.read_text())  # JSON, because the output ends in .json
    assert json.loads(output.read_text())["title"] == storyboard["title"]
    assert len(storyboard["scenes"]) == 5
    assert {scene["duration"] for scene in storyboard["scenes"]} == {5}
    assert storyboard["atmosphere"] == "misty golden-hour light"
    assert storyboard["tags"][:2] == ["pokemon", "nature documentary"]
    assert storyboard["description"].endswith("Links and credits.")
    assert len(storyboard["description"].encode()) <= 5000


@pytest.mark.parametrize(
    "args, error",
    [
        (["--scenes", "40"], "--scenes must be 4-18, got 40"),
        (["--scenes", "3"], "--scenes must be 4-18, got 3"),
        (["--topic", "  "], "--topic is empty"),
        (["--channel", "Poke Channel"], "--channel 'Poke Channel' is not a channel id"),
        (["--channel-brief", "missing.yaml"], "--channel-brief: missing.yaml: file not found"),
    ],
)
def test_bad_input_is_refused_before_any_call(run_script, tmp_path, gemini, gemini_env, args,
                                               error):  # fmt: skip
    run = run_script("generate_storyboard.py", "--topic", TOPIC, "--output", tmp_path / "d.yaml",
                     *args, env=gemini_env)  # fmt: skip
    assert run.returncode == 65, run
    assert error in run.error
    assert gemini.requests == []


def test_a_bad_brief_is_refused_with_its_field_named(run_script, tmp_path):
    brief = tmp_path / "brief.yaml"
    brief.write_text("scene_count: 40\nclip_seconds: 7\ntonne: calm\n")
    run = run_script("generate_storyboard.py", "--provider", "local", "--topic", TOPIC,
                     "--channel-brief", brief, "--output", tmp_path / "d.yaml")  # fmt: skip
    assert run.returncode == 65, run
    assert run.error.splitlines() == [
        f"--channel-brief {brief}: tonne: unknown key; did you mean 'tone'?",
        f"--channel-brief {brief}: scene_count: must be 4-18, got 40",
        f"--channel-brief {brief}: clip_seconds: must be 5 or 10 (the clip lengths Kling makes), "
        "got 7",
    ]


# --- Gemini: answers as models really write them -------------------------------------------------


@pytest.mark.parametrize(
    "wrap",
    [
        lambda text: f"```json\n{text}\n```",
        lambda text: f"```\n{text}\n```\n",
        lambda text: f"  ```JSON\n{text}```",
    ],
)
def test_an_answer_in_a_json_code_fence_is_read_in_one_call(
    gemini, gemini_env, write_storyboard, wrap
):
    gemini.answer_text(wrap(json.dumps(ANSWER, indent=2)))
    run, output = write_storyboard(env=gemini_env)
    assert run.returncode == 0, run
    assert len(gemini.requests) == 1
    assert run.result["usage"]["calls"] == 1
    assert yaml.safe_load(output.read_text())["title"] == ANSWER["title"]


def test_text_around_a_fence_is_still_not_json(gemini, gemini_env, write_storyboard):
    text = f"Here it is:\n```json\n{json.dumps(ANSWER)}\n```"
    gemini.answer_text(text, text)
    run, _ = write_storyboard(env=gemini_env)
    assert run.returncode == 65, run
    assert "the answer is not JSON" in run.error


def test_an_unreadable_200_answer_is_booked_as_unknown_usage_not_as_zero_tokens(
    gemini, gemini_env, write_storyboard
):
    from tests.fakes.base import Reply

    gemini.answer_text(Reply.text(200, "<html>upstream proxy error</html>"))
    run, _ = write_storyboard(env=gemini_env)
    assert run.returncode == 75, run
    assert run.result["paid"] is True
    assert run.result["usage"]["usage_unknown"] is True
    assert "token usage is unknown" in run.error


def test_the_local_writer_keeps_a_long_topic_to_the_scenes_length(run_script, tmp_path):
    output = tmp_path / "draft.yaml"
    topic = "the secret life of Bulbasaur " + "in the old forest at dawn " * 38

    run = run_script("generate_storyboard.py", "--provider", "local", "--topic", topic[:1000],
                     "--direction", "and then " * 200, "--output", output)  # fmt: skip

    assert run.returncode == 0, run
    storyboard = storyboard_parse(output.read_text())
    for scene in storyboard["scenes"]:
        assert narration_seconds(scene["narration"]) <= scene["duration"] * 1.1, scene
