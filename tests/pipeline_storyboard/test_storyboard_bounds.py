"""The bounds of a storyboard: nesting depth, total size, UTF-8, forbidden characters, finite
numbers and each text field's length, each refused with one clear error naming its place."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from core.text.input_bounds import MAX_STORYBOARD_BYTES, STORYBOARD_TEXT_MAX
from core.text.storyboard import StoryboardInvalid, storyboard_parse, storyboard_validate

SAMPLE = (
    Path(settings.BASE_DIR) / "pipeline" / "sample_storyboards" / "bulbasaur.yaml"
).read_text()
MOTION = re.search(r"motion: (.*)", SAMPLE).group(1)


def parse_errors(text):
    with pytest.raises(StoryboardInvalid) as raised:
        storyboard_parse(text)
    return raised.value.errors


def with_motion(text):
    return SAMPLE.replace(MOTION, text, 1)


@pytest.mark.parametrize("depth", [21, 500, 100_000])
def test_it_refuses_nesting_deeper_than_twenty_levels_without_a_recursion_error(depth):
    text = "title: Deep\nassets: " + "[" * depth + "]" * depth + "\n"
    assert parse_errors(text) == [
        "storyboard: line 2, column 28: invalid YAML: nested deeper than 20 levels of mappings "
        "and lists; flatten it"
    ]


def test_it_refuses_a_deeply_nested_dict_it_did_not_parse_itself():
    data = value = {}
    for _ in range(1000):
        value["x"] = {}
        value = value["x"]
    errors = storyboard_validate_errors(data)
    assert errors == [
        "storyboard: " + ".".join(["x"] * 20) + ": nests deeper than 20 levels; flatten it"
    ]


def storyboard_validate_errors(data):
    with pytest.raises(StoryboardInvalid) as raised:
        storyboard_validate(data)
    return raised.value.errors


def test_it_refuses_a_nul_character_written_in_the_text_with_its_line_and_column():
    assert parse_errors(with_motion("slow \x00 dolly")) == [
        "storyboard: line 36, column 18: a NUL character; remove it (only tab and line breaks "
        "are allowed)"
    ]


@pytest.mark.parametrize(
    "escape, what",
    [
        ("\\0", "a NUL character"),
        ("\\x07", "a control character ('\\x07')"),
        ("\\ud800", "an unpaired surrogate ('\\ud800')"),
    ],
)
def test_it_refuses_a_forbidden_character_written_as_an_escape_naming_the_field(escape, what):
    assert parse_errors(with_motion(f'"slow {escape} dolly"')) == [
        f"storyboard: scenes[0].motion: contains {what} at position 6; remove it (only tab and "
        "line breaks are allowed)"
    ]


def test_it_refuses_a_nul_in_a_key_and_in_a_tag():
    text = SAMPLE.replace("title:", '"ti\\0tle": x\ntitle:', 1).replace(
        "[pokemon,", '["p\\0kemon",', 1
    )
    errors = parse_errors(text)
    assert "storyboard: a key contains a NUL character at position 3" in errors[0]
    assert errors[1].startswith("storyboard: tags[0]: contains a NUL character")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_it_refuses_numbers_that_are_not_finite(value):
    text = re.sub(r"duration: \d+", f"duration: {value}", SAMPLE, count=1)
    number = {".nan": "nan", ".inf": "inf", "-.inf": "-inf"}[value]
    assert parse_errors(text) == [
        f"storyboard: scenes[0].duration: must be a finite number, got {number}"
    ]


@pytest.mark.parametrize("field", sorted(STORYBOARD_TEXT_MAX))
def test_each_text_field_has_its_length_limit(field):
    limit = STORYBOARD_TEXT_MAX[field]
    value = "x" * (limit + 1)
    path = {"atmosphere": "atmosphere", "prompt": "assets[0].prompt"}.get(
        field, f"scenes[0].{field}"
    )
    data = storyboard_parse(SAMPLE)
    if field == "atmosphere":
        data["atmosphere"] = value
    elif field == "prompt":
        data["assets"][0]["prompt"] = value
    else:
        data["scenes"][0][field] = value
    assert storyboard_validate_errors(data) == [
        f"storyboard: {path}: must be at most {limit} characters, got {limit + 1}"
    ]
    data_ok = storyboard_parse(SAMPLE)
    ok = "x" * limit
    if field == "atmosphere":
        data_ok["atmosphere"] = ok
    elif field == "prompt":
        data_ok["assets"][0]["prompt"] = ok
    else:
        data_ok["scenes"][0][field] = ok
    storyboard_validate(data_ok)


def test_prompts_with_the_atmosphere_stay_within_a_command_line_argument_and_klings_limit():
    longest = STORYBOARD_TEXT_MAX["motion"] + STORYBOARD_TEXT_MAX["atmosphere"] + 20
    assert longest <= 2500
    assert STORYBOARD_TEXT_MAX["narration"] * 4 < 128 * 1024  # UTF-8 bytes of one argv item


def test_it_refuses_a_storyboard_larger_than_its_limit_before_parsing_it():
    text = SAMPLE + "# " + "x" * MAX_STORYBOARD_BYTES + "\n"
    assert parse_errors(text) == [
        f"storyboard: the storyboard is {len(text.encode()):,} bytes; at most "
        f"{MAX_STORYBOARD_BYTES:,} are allowed (is it the right file?)"
    ]


def test_it_refuses_bytes_that_are_not_utf8():
    content = SAMPLE.encode() + b"# caf\xe9\n"
    assert parse_errors(content) == [
        f"storyboard: the storyboard is not UTF-8 text (byte {len(SAMPLE.encode()) + 6} cannot "
        "be read); save it as UTF-8"
    ]


def test_it_reads_utf8_bytes_like_text():
    assert storyboard_parse(SAMPLE.encode()) == storyboard_parse(SAMPLE)
