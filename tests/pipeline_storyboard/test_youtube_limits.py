"""core.text.youtube_text_limits: YouTube's title, description and tag limits, counted as YouTube
does."""

import pytest

from core.text import youtube_text_limits as limits


@pytest.mark.parametrize(
    "title, problems",
    [
        ("A", []),
        ("x" * 100, []),
        ("é" * 100, []),  # characters, not bytes
        ("x" * 101, ["101 characters, YouTube allows 1-100"]),
        ("", ["must not be empty; YouTube needs a title of 1-100 characters"]),
        ("   ", ["must not be empty; YouTube needs a title of 1-100 characters"]),
        ("a > b", ["contains '>' (first at character 3); YouTube refuses < and >"]),
    ],
)
def test_a_title_is_1_to_100_characters_without_angle_brackets(title, problems):
    assert limits.title_problems(title) == problems


@pytest.mark.parametrize(
    "description, problems",
    [
        ("", []),
        ("x" * 5000, []),
        ("é" * 2500, []),
        ("x" * 5001, ["5,001 bytes, YouTube allows 5,000 (UTF-8)"]),
        ("é" * 2600, ["5,200 bytes, YouTube allows 5,000 (UTF-8)"]),
        ("🦎" * 1251, ["5,004 bytes, YouTube allows 5,000 (UTF-8)"]),
        ("<b>", ["contains '<' and '>' (first at character 1); YouTube refuses < and >"]),
    ],
)
def test_a_description_is_at_most_5000_utf8_bytes_without_angle_brackets(description, problems):
    assert limits.description_problems(description) == problems


def test_tags_count_each_tag_a_comma_between_and_two_for_a_space():
    assert limits.tags_counted_length([]) == 0
    assert limits.tags_counted_length(["pokemon"]) == 7
    assert limits.tags_counted_length(["nature documentary", "pokemon"]) == 20 + 1 + 7


def test_tags_leave_room_for_the_marker_tag_the_upload_adds():
    assert limits.UPLOAD_MARKER_TAG_CHARACTERS == len("videogen-" + "0" * 32)
    exactly = ["x" * 457]  # 457 + 0 commas; + 1 comma + 41 marker = 499
    assert limits.tags_problems(exactly) == []
    assert limits.tags_problems(["x" * 459]) == [
        "459 characters as YouTube counts them (each tag's length, a comma between tags, 2 more "
        "for a tag with a space), 458 allowed (500 less 42 for the tag the upload adds)"
    ]
    assert limits.tags_problems(["x" * 500], reserve_upload_marker=False) == []
    assert limits.tags_problems(["x" * 501], reserve_upload_marker=False)


def test_fitting_cuts_at_words_and_respects_every_limit():
    title = limits.title_fit("The <secret> life " + "of axolotls " * 20)
    assert not limits.title_problems(title) and not title.endswith(" ")
    assert title.startswith("The secret life of axolotls")
    description = limits.description_fit("é " * 3000)
    assert not limits.description_problems(description)
    assert limits.description_bytes(description) <= 5000
    tags = limits.tags_fit(["nature documentary"] * 3 + [f"tag number {n}" for n in range(60)])
    assert not limits.tags_problems(tags)
    assert tags[:2] == ["nature documentary", "tag number 0"]
