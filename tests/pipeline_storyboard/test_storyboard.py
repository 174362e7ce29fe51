"""core.text.storyboard: parsing, validation with field-path errors, normalization, prompts."""

import copy
import json
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from core.text.storyboard import (
    StoryboardInvalid,
    storyboard_asset_prompt,
    storyboard_clip_seconds,
    storyboard_parse,
    storyboard_scene_prompt,
    storyboard_validate,
)
from tests.factories import SAMPLE_STORYBOARD

SAMPLE_PATH = Path(settings.BASE_DIR) / "pipeline" / "sample_storyboards" / "bulbasaur.yaml"


def storyboard(**changes):
    """A valid storyboard with two assets and two scenes, top-level keys replaced by changes."""
    data = copy.deepcopy(SAMPLE_STORYBOARD)
    data["assets"].append({"id": "oddish", "kind": "character", "prompt": "Oddish"})
    data["scenes"].append(
        {
            "id": "s02",
            "split": ["bulbasaur", "oddish"],
            "motion": "both turn",
            "narration": "It is not alone.",
            "duration": 5,
        }
    )
    data.update(changes)
    return data


def with_scene(**changes):
    data = storyboard()
    data["scenes"][0].update(changes)
    return data


def with_asset(**changes):
    data = storyboard()
    data["assets"][0].update(changes)
    return data


def errors_of(data):
    with pytest.raises(StoryboardInvalid) as raised:
        storyboard_validate(data)
    return raised.value.errors


def parse_errors(text, source="storyboard"):
    with pytest.raises(StoryboardInvalid) as raised:
        storyboard_parse(text, source=source)
    return raised.value.errors


# --- Valid storyboards --------------------------------------------------------------------


def test_it_parses_the_shipped_sample():
    parsed = storyboard_parse(SAMPLE_PATH.read_text(), source=str(SAMPLE_PATH))
    assert parsed["channel"] == "pokechannel1"
    assert len(parsed["scenes"]) == 4
    assert sum(1 for scene in parsed["scenes"] if scene["split"]) == 1
    assert sum(1 for scene in parsed["scenes"] if scene["sfx"]) == 3
    assert {scene["duration"] for scene in parsed["scenes"]} == {5}
    assert all(scene["narration"] for scene in parsed["scenes"])


def test_it_fills_defaults_so_the_pipeline_can_rely_on_every_key():
    parsed = storyboard_validate(storyboard())
    assert parsed["description"] == "" and parsed["tags"] == [] and parsed["thumbnail"] is None
    assert parsed["assets"][0]["reference"] is None
    first, second = parsed["scenes"]
    assert first["composite"] == {"environment": "forest", "character": "bulbasaur", "scale": 1.0}
    assert first["split"] is None
    assert second["composite"] is None and second["sfx"] == ""


def test_validating_a_normalized_storyboard_again_changes_nothing():
    parsed = storyboard_parse(SAMPLE_PATH.read_text())
    assert storyboard_validate(json.loads(json.dumps(parsed))) == parsed


def test_it_reads_json_text_too():
    assert storyboard_parse(json.dumps(storyboard()))["title"] == SAMPLE_STORYBOARD["title"]


def test_it_accepts_a_reference_to_another_asset_and_a_thumbnail():
    data = storyboard(thumbnail="s02")
    data["assets"][1]["reference"] = "bulbasaur"
    parsed = storyboard_validate(data)
    assert parsed["assets"][1]["reference"] == "bulbasaur"
    assert parsed["thumbnail"] == "s02"


# --- Invalid storyboards: each error names the path -----------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        pytest.param(
            with_scene(composite={"environment": "lake", "character": "bulbasaur"}),
            "storyboard: scenes[0].composite.environment: unknown asset 'lake' "
            "(assets: bulbasaur, forest, oddish)",
            id="unknown asset",
        ),
        pytest.param(
            with_scene(composite={"environment": "forst", "character": "bulbasaur"}),
            "storyboard: scenes[0].composite.environment: unknown asset 'forst'; "
            "did you mean 'forest'?",
            id="unknown asset with a hint",
        ),
        pytest.param(
            with_scene(composite={"environment": "bulbasaur", "character": "bulbasaur"}),
            "storyboard: scenes[0].composite.environment: asset 'bulbasaur' is a character; "
            "composite.environment needs an environment asset",
            id="wrong kind for environment",
        ),
        pytest.param(
            with_scene(composite={"environment": "forest", "character": "forest"}),
            "storyboard: scenes[0].composite.character: asset 'forest' is an environment; "
            "composite.character needs a character or prop asset",
            id="wrong kind for character",
        ),
        pytest.param(
            with_scene(narraton="typo"),
            "storyboard: scenes[0].narraton: unknown key; did you mean 'narration'?",
            id="unknown scene key with a hint",
        ),
        pytest.param(
            storyboard(music="epic"),
            "storyboard: music: unknown key; allowed keys: title, channel, atmosphere, "
            "description, tags, thumbnail, assets, scenes",
            id="unknown top-level key",
        ),
        pytest.param(
            with_scene(composite={"environment": "forest", "character": "bulbasaur", "zoom": 2}),
            "storyboard: scenes[0].composite.zoom: unknown key; allowed keys: environment, "
            "character, scale",
            id="unknown composite key",
        ),
        pytest.param(
            storyboard(
                assets=[*storyboard()["assets"], {"id": "forest", "kind": "prop", "prompt": "x"}]
            ),
            "storyboard: assets[3].id: duplicate asset id 'forest' (already used by assets[1]; "
            "ids must be unique, ignoring case)",
            id="duplicate asset id",
        ),
        pytest.param(
            storyboard(
                assets=[*storyboard()["assets"], {"id": "Forest", "kind": "prop", "prompt": "x"}]
            ),
            "storyboard: assets[3].id: duplicate asset id 'Forest' (already used by assets[1]; "
            "ids must be unique, ignoring case)",
            id="asset ids differing only in case",
        ),
        pytest.param(
            with_scene(id="s02"),
            "storyboard: scenes[1].id: duplicate scene id 's02' (already used by scenes[0]; "
            "ids must be unique, ignoring case)",
            id="duplicate scene id",
        ),
        pytest.param(
            with_scene(narration=""),
            "storyboard: scenes[0].narration: must not be empty (the words spoken over the "
            "scene; every scene has narration)",
            id="empty narration",
        ),
        pytest.param(
            with_scene(narration=None),
            "storyboard: scenes[0].narration: is required (the words spoken over the scene; "
            "every scene has narration)",
            id="missing narration",
        ),
        pytest.param(
            with_scene(duration=0),
            "storyboard: scenes[0].duration: must be a number of seconds from 1 to 30, got 0",
            id="duration 0",
        ),
        pytest.param(
            with_scene(duration=31),
            "storyboard: scenes[0].duration: must be a number of seconds from 1 to 30, got 31",
            id="duration 31",
        ),
        pytest.param(
            with_scene(duration="5s"),
            "storyboard: scenes[0].duration: must be a number of seconds from 1 to 30, got '5s'",
            id="duration as text",
        ),
        pytest.param(
            with_scene(split=["forest", "bulbasaur"]),
            "storyboard: scenes[0]: has both composite and split; a scene's image is one or the "
            "other",
            id="both composite and split",
        ),
        pytest.param(
            with_scene(composite=None),
            "storyboard: scenes[0]: needs an image: composite: {environment: <asset>, character: "
            "<asset>} or split: [<asset>, <asset>]",
            id="neither composite nor split",
        ),
        pytest.param(
            storyboard(scenes=[{**storyboard()["scenes"][1], "split": ["bulbasaur"]}]),
            "storyboard: scenes[0].split: must be a list of exactly two asset ids [left, right], "
            "got a list of 1",
            id="split with one asset",
        ),
        pytest.param(
            with_scene(composite={"environment": "forest", "character": "bulbasaur", "scale": 5}),
            "storyboard: scenes[0].composite.scale: must be a number from 0.1 to 3 (1.0 is the "
            "natural size), got 5",
            id="scale out of range",
        ),
        pytest.param(
            with_asset(id="../x"),
            "storyboard: assets[0].id: '../x' is not a valid id: use 1-64 letters, digits, '-' "
            "or '_', starting with a letter or digit (ids become file names; no '/', '.', or "
            "spaces)",
            id="unsafe asset id",
        ),
        pytest.param(
            with_scene(id="/etc/passwd"),
            "storyboard: scenes[0].id: '/etc/passwd' is not a valid id: use 1-64 letters, "
            "digits, '-' or '_', starting with a letter or digit (ids become file names; no "
            "'/', '.', or spaces)",
            id="unsafe scene id",
        ),
        pytest.param(
            with_asset(kind="creature"),
            "storyboard: assets[0].kind: unknown kind 'creature'; choose from character, "
            "environment, prop",
            id="unknown asset kind",
        ),
        pytest.param(
            with_asset(prompt="  "),
            "storyboard: assets[0].prompt: must not be empty (what the image shows)",
            id="empty asset prompt",
        ),
        pytest.param(
            with_asset(reference="bulbasaur"),
            "storyboard: assets[0].reference: references form a cycle (bulbasaur -> "
            "bulbasaur); an asset cannot depend on itself",
            id="asset referencing itself",
        ),
        pytest.param(
            with_asset(reference="lake"),
            "storyboard: assets[0].reference: unknown asset 'lake' (assets: bulbasaur, forest, "
            "oddish)",
            id="reference to an unknown asset",
        ),
        pytest.param(
            storyboard(title="x" * 101),
            "storyboard: title: 101 characters, YouTube allows 1-100",
            id="title too long",
        ),
        pytest.param(
            storyboard(description="é" * 2600),
            "storyboard: description: 5,200 bytes, YouTube allows 5,000 (UTF-8)",
            id="description over 5,000 bytes in fewer than 5,000 characters",
        ),
        pytest.param(
            storyboard(description="Watch <this>"),
            "storyboard: description: contains '<' and '>' (first at character 7); YouTube "
            "refuses < and >",
            id="angle brackets in description",
        ),
        pytest.param(
            storyboard(tags=["nature documentary"] * 23),
            "storyboard: tags: 482 characters as YouTube counts them (each tag's length, a comma "
            "between tags, 2 more for a tag with a space), 458 allowed (500 less 42 for the tag "
            "the upload adds)",
            id="tags over the limit as YouTube counts them",
        ),
        pytest.param(
            storyboard(title=None),
            "storyboard: title: is required (the video's title)",
            id="missing title",
        ),
        pytest.param(
            storyboard(title="Bulbasaur <3"),
            "storyboard: title: contains '<' (first at character 11); YouTube refuses < and >",
            id="angle bracket in title",
        ),
        pytest.param(
            storyboard(channel="Poke Channel"),
            "storyboard: channel: 'Poke Channel' is not a valid channel id: 1-63 lowercase "
            "letters, digits, '-' or '_' (the name of its file in channel_configs/, without "
            ".yaml)",
            id="bad channel id",
        ),
        pytest.param(
            storyboard(scenes=[]),
            "storyboard: scenes: must not be empty (a list of scenes)",
            id="no scenes",
        ),
        pytest.param(
            storyboard(assets={"forest": "x"}),
            "storyboard: assets: must be a list of assets, got a mapping",
            id="assets not a list",
        ),
        pytest.param(
            storyboard(thumbnail="s9"),
            "storyboard: thumbnail: unknown asset or scene 's9' (ids: bulbasaur, forest, "
            "oddish, s01, s02)",
            id="unknown thumbnail",
        ),
    ],
)
def test_it_reports_the_path_of_each_bad_field(data, expected):
    assert expected in errors_of(data)


def test_it_reports_every_problem_at_once():
    data = with_scene(duration=0, narration="")
    data["assets"][0]["kind"] = "prop"
    errors = errors_of(data)
    assert [error.split(": ")[1] for error in errors] == [
        "scenes[0].narration",
        "scenes[0].duration",
    ]


def test_it_reports_bad_yaml_syntax_with_line_and_column():
    text = "title: A\nassets:\n  - {id: forest, kind: environment\nscenes: []\n"
    (error,) = parse_errors(text, source="bulbasaur.yaml")
    assert error == (
        "bulbasaur.yaml: line 4, column 7: invalid YAML: expected ',' or '}', but got ':' "
        "(while parsing a flow mapping that starts on line 3)"
    )


def test_it_reports_a_key_repeated_in_one_mapping():
    text = SAMPLE_PATH.read_text().replace("title: The", "title: A\ntitle: The", 1)
    (error,) = parse_errors(text)
    assert error.startswith("storyboard: line ")
    assert error.endswith("invalid YAML: duplicate key 'title' (first on line 4); keep only one")


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "- title: A\n",
            "storyboard: must be a mapping (title: ..., assets: ..., scenes: ...), got a list",
        ),
        (
            "just words",
            "storyboard: must be a mapping (title: ..., assets: ..., scenes: ...), "
            "got 'just words'",
        ),
        ("", "storyboard: the storyboard is empty; it needs at least title, assets and scenes"),
    ],
)
def test_it_reports_a_document_that_is_not_a_mapping(text, expected):
    assert parse_errors(text) == [expected]


def test_it_names_the_source_in_every_error():
    errors = errors_of(with_scene(duration=0))
    data = yaml.safe_dump(with_scene(duration=0))
    assert parse_errors(data, source="notion page 1a2b") == [
        error.replace("storyboard:", "notion page 1a2b:", 1) for error in errors
    ]


# --- Helpers for the pipeline -------------------------------------------------------------


def test_the_asset_prompt_combines_the_prompt_and_the_atmosphere():
    data = storyboard_validate(storyboard())
    assert storyboard_asset_prompt(data, data["assets"][0]) == (
        "Bulbasaur, photorealistic. Atmosphere: misty golden-hour forest"
    )


def test_the_scene_prompt_combines_the_motion_and_the_atmosphere():
    data = storyboard_validate(storyboard())
    assert storyboard_scene_prompt(data, data["scenes"][0]) == (
        "slow dolly in. Atmosphere: misty golden-hour forest"
    )


def test_prompts_without_an_atmosphere_are_the_plain_prompt():
    data = storyboard_validate(storyboard(atmosphere=None))
    assert storyboard_asset_prompt(data, data["assets"][1]) == "ancient mossy forest floor"


@pytest.mark.parametrize("duration, seconds", [(1, 5), (5, 5), (5.5, 10), (10, 10), (30, 10)])
def test_a_scene_duration_rounds_up_to_a_clip_length_kling_makes(duration, seconds):
    assert storyboard_clip_seconds({"duration": duration}) == seconds


def test_it_accepts_a_description_of_exactly_5000_bytes():
    assert storyboard_validate(storyboard(description="é" * 2500))["description"] == "é" * 2500


def test_it_accepts_tags_that_leave_room_for_the_upload_marker():
    tags = ["nature documentary"] * 22  # 22 * 20 + 21 commas = 461 > 458
    assert errors_of(storyboard(tags=tags))
    assert storyboard_validate(storyboard(tags=tags[:21]))["tags"] == tags[:21]  # 440


def test_the_parser_imports_without_django_set_up():
    """scripts/generate_storyboard.py validates drafts with this parser, outside Django."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys; from core.text.storyboard import storyboard_parse; "
        "storyboard_parse(open(sys.argv[1]).read()); "
        "assert 'django.apps.registry' not in sys.modules, 'Django apps were loaded'"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, str(SAMPLE_PATH)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
