"""channels_app.config: every bad channel config is reported as one line naming the file, the
field path and the problem; good files come back as Channel fields."""

import shutil
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from channels_app.config import channel_config_read, channel_configs_load_directory

VALID = {
    "id": "poke",
    "name": "Poke Nature",
    "schedule": "daily",
    "timezone": "America/New_York",
    "publish_time": "15:00",
    "budget": {"daily_usd": 25, "weekly_usd": 150},
}


def write(folder, name, text):
    path = Path(folder) / name
    path.write_text(text)
    return path


def config_file(folder, changes=None, *, remove=(), name="poke.yaml"):
    data = {**VALID, **(changes or {})}
    for key in remove:
        data.pop(key)
    return write(folder, name, yaml.safe_dump(data, sort_keys=False))


def errors_of(path):
    config, errors, _ = channel_config_read(path)
    assert config is None
    return [str(error) for error in errors]


def fields_of(path):
    config, errors, _ = channel_config_read(path)
    assert errors == []
    return config.fields


# --- Bad inputs ---------------------------------------------------------------------------


def test_it_reports_a_missing_required_field(tmp_path):
    path = config_file(tmp_path, remove=["name"])
    assert errors_of(path) == [f'{path}: name: is required (e.g. name: "My Channel")']


def test_it_reports_a_missing_budget(tmp_path):
    path = config_file(tmp_path, remove=["budget"])
    assert errors_of(path) == [
        f"{path}: budget: is required (e.g. budget: {{daily_usd: 25, weekly_usd: 150}})"
    ]


def test_it_reports_a_wrong_type(tmp_path):
    path = config_file(tmp_path, {"max_concurrent": "two"})
    assert errors_of(path) == [
        f"{path}: max_concurrent: must be a whole number from 1 to 100, got 'two'"
    ]


def test_it_reports_text_that_yaml_read_as_a_boolean_with_the_fix(tmp_path):
    path = write(tmp_path, "poke.yaml", config_file(tmp_path).read_text() + "voice_id: no\n")
    assert errors_of(path) == [
        f"{path}: voice_id: must be text, got false "
        "(YAML reads yes/no/on/off as true/false: put it in quotes)"
    ]


def test_it_reports_an_unknown_key_with_a_hint(tmp_path):
    path = config_file(tmp_path, {"budjet": 3})
    assert errors_of(path) == [f"{path}: budjet: unknown key; did you mean 'budget'?"]


def test_it_reports_an_unknown_nested_key_with_its_path(tmp_path):
    path = config_file(tmp_path, {"budget": {"daily_usd": 25, "weekly_usd": 150, "monthly": 9}})
    assert errors_of(path) == [
        f"{path}: budget.monthly: unknown key; allowed keys: daily_usd, weekly_usd, per_video_usd"
    ]


def test_it_reports_a_negative_budget(tmp_path):
    path = config_file(tmp_path, {"budget": {"daily_usd": -5, "weekly_usd": 150}})
    assert errors_of(path) == [f"{path}: budget.daily_usd: must be a positive number, got -5"]


def test_it_reports_a_weekly_budget_below_the_daily_one(tmp_path):
    path = config_file(tmp_path, {"budget": {"daily_usd": 50, "weekly_usd": 20}})
    assert errors_of(path) == [
        f"{path}: budget.weekly_usd: must be at least budget.daily_usd (50), got 20"
    ]


def test_it_reports_a_budget_with_fractions_of_a_cent(tmp_path):
    path = config_file(tmp_path, {"budget": {"daily_usd": 2.555, "weekly_usd": 150}})
    assert errors_of(path) == [
        f"{path}: budget.daily_usd: must have at most 2 decimal places (whole cents), got 2.555"
    ]


def test_it_reports_a_bad_timezone_with_a_hint(tmp_path):
    path = config_file(tmp_path, {"timezone": "America/New_Yrok"})
    assert errors_of(path) == [
        f"{path}: timezone: unknown time zone 'America/New_Yrok'; use an IANA name such as "
        "'America/New_York' or 'UTC' (did you mean 'America/New_York'?)"
    ]


def test_it_reports_a_bad_channel_id(tmp_path):
    path = config_file(tmp_path, {"id": "Poke Channel"}, name="Poke Channel.yaml")
    assert errors_of(path) == [
        f"{path}: id: 'Poke Channel' is not a valid channel id: use 1-63 lowercase letters, "
        "digits, '-' or '_', starting with a letter or digit (it names folders and the YAML file)"
    ]


def test_it_reports_an_id_that_differs_from_the_file_name(tmp_path):
    path = config_file(tmp_path, {"id": "other"})
    assert errors_of(path) == [
        f"{path}: id: 'other' does not match the file name 'poke'; the file must be named "
        "other.yaml (or set id: poke)"
    ]


def test_it_reports_duplicate_channel_ids_across_files(tmp_path):
    first = config_file(tmp_path, name="poke.yaml")
    second = config_file(tmp_path, name="poke.yml")
    loaded = channel_configs_load_directory(tmp_path)
    assert loaded.configs == []
    assert [str(error) for error in loaded.errors] == [
        f"{first}: id: channel id 'poke' is also used by {second}; each channel needs its own id "
        "(ids are compared ignoring case); rename or remove one of the files",
        f"{second}: id: channel id 'poke' is also used by {first}; each channel needs its own id "
        "(ids are compared ignoring case); rename or remove one of the files",
    ]


def test_it_reports_channel_ids_that_collide_ignoring_case(tmp_path):
    lower = config_file(tmp_path, name="poke.yaml")
    upper = config_file(tmp_path, {"id": "Poke"}, name="Poke.yaml")
    loaded = channel_configs_load_directory(tmp_path)
    errors = [str(error) for error in loaded.errors]
    assert loaded.configs == []
    assert (
        f"{lower}: id: channel id 'poke' is also used by {upper}; each channel needs its own id "
        "(ids are compared ignoring case); rename or remove one of the files"
    ) in errors
    assert (
        f"{upper}: id: channel id 'Poke' is also used by {lower}; each channel needs its own id "
        "(ids are compared ignoring case); rename or remove one of the files"
    ) in errors


def test_it_reports_an_empty_file(tmp_path):
    path = write(tmp_path, "poke.yaml", "# nothing here yet\n")
    assert errors_of(path) == [
        f"{path}: the file is empty; copy _example.yaml from the same folder to start"
    ]


def test_it_reports_a_file_that_is_not_a_mapping(tmp_path):
    path = write(tmp_path, "poke.yaml", "- id: poke\n- name: Poke\n")
    assert errors_of(path) == [
        f"{path}: the file must be a mapping of fields (name: value), got a list"
    ]


def test_it_reports_invalid_yaml_syntax_with_line_and_column(tmp_path):
    path = write(tmp_path, "poke.yaml", "id: poke\nname: [Poke\nschedule: daily\n")
    (error,) = errors_of(path)
    assert error.startswith(f"{path}: line 3, column 9: invalid YAML: ")


def test_it_reports_a_key_repeated_in_one_mapping_with_its_line(tmp_path):
    path = write(tmp_path, "poke.yaml", config_file(tmp_path).read_text() + "name: Again\n")
    assert errors_of(path) == [
        f"{path}: line 9, column 1: invalid YAML: duplicate key 'name' (first on line 2); "
        "keep only one"
    ]


def test_it_reports_an_unknown_review_gate_with_a_hint(tmp_path):
    path = config_file(tmp_path, {"review_gates": ["assets", "vidoe"]})
    assert errors_of(path) == [
        f"{path}: review_gates[1]: unknown review gate 'vidoe'; choose from assets, video, audio "
        "(did you mean 'video'?)"
    ]


def test_it_explains_that_the_final_gate_is_always_on(tmp_path):
    path = config_file(tmp_path, {"review_gates": ["final"]})
    assert errors_of(path) == [
        f"{path}: review_gates[0]: 'final' is always on for every video and cannot be listed; "
        "list only the optional gates assets, video, audio"
    ]


def test_it_reports_an_unknown_provider(tmp_path):
    path = config_file(tmp_path, {"providers": {"video": "runway"}})
    assert errors_of(path) == [f"{path}: providers.video: must be one of kie, local; got 'runway'"]


def test_it_reports_an_unknown_provider_family(tmp_path):
    path = config_file(tmp_path, {"providers": {"music": "local"}})
    assert errors_of(path) == [
        f"{path}: providers.music: unknown key; allowed keys: image, video, narration, sfx, "
        "upload, text, voice"
    ]


@pytest.mark.parametrize(
    "changes, path_in_file",
    [
        ({"youtube_api_key": "AIza-not-here"}, "youtube_api_key"),
        ({"providers": {"image": "gemini", "gemini_token": "x"}}, "providers.gemini_token"),
        ({"notion": {"password": "x"}}, "notion.password"),
    ],
)
def test_it_refuses_credentials_anywhere_and_points_to_set_channel_secret(
    tmp_path, changes, path_in_file
):
    path = config_file(tmp_path, changes)
    errors = errors_of(path)
    assert (
        f"{path}: {path_in_file}: credentials never go in channel YAML (it is version-controlled); "
        "remove this key and store the value encrypted with "
        "`python manage.py set_channel_secret poke <name>`"
    ) in errors


def test_it_never_repeats_a_credential_value_in_an_error(tmp_path):
    path = config_file(tmp_path, {"api_key": "sk-live-very-secret"})
    assert "sk-live-very-secret" not in "\n".join(errors_of(path))


@pytest.mark.parametrize(
    "changes, expected",
    [
        (
            {"publish_time": "25:00"},
            "publish_time: must be a time of day \"HH:MM\" (24-hour), got '25:00'",
        ),
        (
            {"schedule": "dayly"},
            "schedule: must be one of daily, weekly, manual; got 'dayly' (did you mean 'daily'?)",
        ),
        (
            {"schedule": "weekly"},
            "publish_days: is required when schedule is weekly (e.g. [mon, thu])",
        ),
        (
            {"publish_days": ["mon"]},
            "publish_days: is only used with schedule: weekly (schedule is daily)",
        ),
        (
            {"youtube_channel_id": "mychannel"},
            "youtube_channel_id: must be a YouTube channel id "
            "('UC' followed by 22 letters, digits, '-' or '_'; see YouTube Studio > Settings > "
            "Channel > Advanced), got 'mychannel'",
        ),
        (
            {"notion_database_id": "xyz"},
            "notion_database_id: must be a Notion database id "
            "(32 hexadecimal characters, dashes allowed; it is in the database's URL), got 'xyz'",
        ),
        (
            {"privacy": "secret-ish"},
            "privacy: must be one of public, unlisted, private; got 'secret-ish'",
        ),
        ({"max_concurrent": 0}, "max_concurrent: must be a whole number from 1 to 100, got 0"),
        ({"tags": ["ok", ""]}, "tags[1]: each tag must be non-empty text, got ''"),
        (
            {"category_id": "music"},
            "category_id: must be a YouTube category number such as \"22\", got 'music'",
        ),
    ],
)
def test_it_reports_other_bad_values(tmp_path, changes, expected):
    path = config_file(tmp_path, changes)
    assert errors_of(path) == [f"{path}: {expected}"]


def test_it_reports_every_problem_of_a_file_at_once(tmp_path):
    path = config_file(
        tmp_path, {"timezone": "Mars/Olympus", "budget": {"daily_usd": 0, "weekly_usd": 1}}
    )
    errors = errors_of(path)
    assert [error.split(": ")[1] for error in errors] == ["timezone", "budget.daily_usd"]


def test_one_bad_file_does_not_stop_the_others_from_being_reported(tmp_path):
    config_file(tmp_path, name="poke.yaml")
    empty = write(tmp_path, "empty.yaml", "")
    broken = write(tmp_path, "broken.yaml", "id: [\n")
    loaded = channel_configs_load_directory(tmp_path)
    assert [config.fields["id"] for config in loaded.configs] == ["poke"]
    assert [error.file for error in loaded.errors] == [str(broken), str(empty)]


# --- Good files ---------------------------------------------------------------------------


def test_it_reads_a_minimal_file_and_fills_the_defaults(tmp_path):
    fields = fields_of(config_file(tmp_path))
    assert fields == {
        "id": "poke",
        "name": "Poke Nature",
        "is_active": True,
        "schedule": "daily",
        "publish_days": [],
        "timezone": "America/New_York",
        "publish_time": time(15, 0),
        "notion_database_id": "",
        "youtube_channel_id": "",
        "quota_project": "default",
        "review_gates": [],
        "video_model": "kling/v2-1-standard",
        "voice_id": "",
        "priority": "normal",
        "max_concurrent": 2,
        "privacy": "private",
        "made_for_kids": False,
        "category_id": "22",
        "default_language": "en",
        "tags": [],
        "budget_daily_usd": Decimal("25"),
        "budget_weekly_usd": Decimal("150"),
        "budget_per_video_usd": Decimal("13"),
        "providers": {},
        "brief": fields["brief"],  # checked in detail below
        "narration": fields["narration"],
        "clips": fields["clips"],
        "keep_intermediates_days": 30,
        "keep_finals_days": 90,
        # What the viewer gets: no music, captions not burned in, no clean cut needed.
        "music": {"folder": None, "volume_db": -20.0},
        "captions": {"burn": False, "font": "DejaVu Sans", "size": 42.0, "position": "bottom",
                     "outline": 2.0},  # fmt: skip
        "require_clean_cut": False,
    }


def test_it_reads_an_unquoted_clock_time_as_a_time_not_a_base_60_number(tmp_path):
    text = config_file(tmp_path).read_text().replace("'15:00'", "9:30")
    assert "publish_time: 9:30" in text
    assert fields_of(write(tmp_path, "poke.yaml", text))["publish_time"] == time(9, 30)


def test_it_normalizes_ids_gates_and_numbers(tmp_path):
    fields = fields_of(
        config_file(
            tmp_path,
            {
                "schedule": "weekly",
                "publish_days": ["thu", "mon", "thu"],
                "review_gates": ["audio", "assets"],
                "notion_database_id": "0123456789AB-CDEF-0123-456789abcdef",
                "category_id": 15,
                "providers": {"image": "local"},
            },
        )
    )
    assert fields["publish_days"] == ["mon", "thu"]
    assert fields["review_gates"] == ["assets", "audio"]
    assert fields["notion_database_id"] == "0123456789abcdef0123456789abcdef"
    assert fields["category_id"] == "15"
    assert fields["providers"] == {"image": "local"}


def test_the_shipped_sample_channel_is_valid():
    fields = fields_of(Path(settings.BASE_DIR) / "channel_configs" / "pokechannel1.yaml")
    assert fields["id"] == "pokechannel1"
    assert fields["schedule"] == "daily"
    assert fields["publish_time"] == time(15, 0)
    assert fields["timezone"] == "America/New_York"
    assert fields["review_gates"] == []
    assert (fields["budget_daily_usd"], fields["budget_weekly_usd"]) == (25, 150)
    assert set(fields["providers"].values()) == {"local"}
    # `voice:` in the file names both narration and sound effects.
    assert set(fields["providers"]) == {"image", "video", "narration", "sfx", "upload", "text"}


def test_the_documented_template_is_valid_once_copied_to_its_channel_file(tmp_path):
    template = Path(settings.BASE_DIR) / "channel_configs" / "_example.yaml"
    fields = fields_of(shutil.copy(template, tmp_path / "example-channel.yaml"))
    assert fields["id"] == "example-channel"
    assert fields["publish_days"] == ["mon", "thu"]


def test_templates_are_skipped(tmp_path):
    write(tmp_path, "_draft.yaml", "this is: [not even valid")
    config_file(tmp_path)
    loaded = channel_configs_load_directory(tmp_path)
    assert loaded.errors == []
    assert [config.fields["id"] for config in loaded.configs] == ["poke"]


# --- The brief, narration and clip settings -------------------------------------------------


def test_a_file_without_a_brief_gets_the_default_brief_and_script_defaults(tmp_path):
    fields = fields_of(config_file(tmp_path))
    assert fields["brief"] == {
        "premise": "",
        "tone": "",
        "visual_style": "",
        "scene_count": 8,
        "clip_seconds": 10,
        "title_style": "",
        "description_template": "",
    }
    assert fields["narration"] == dict.fromkeys(
        ["model", "stability", "similarity", "style", "speed"]
    )
    assert fields["clips"] == dict.fromkeys(["duration", "negative_prompt", "cfg_scale"])


def test_it_reads_a_brief_and_the_narration_and_clip_settings(tmp_path):
    brief = {
        "premise": " calm animal documentaries ",
        "tone": "hushed",
        "visual_style": "golden hour",
        "scene_count": 12,
        "clip_seconds": 5,
        "title_style": "The Secret Life of X",
        "description_template": "{description}\n\nMade with AI.",
    }
    fields = fields_of(
        config_file(
            tmp_path,
            {
                "brief": brief,
                "narration": {"model": "eleven_v3", "stability": 0, "speed": 1.2},
                "clips": {"duration": 10, "negative_prompt": "blur", "cfg_scale": 0.5},
            },
        )
    )
    assert fields["brief"] == {**brief, "premise": "calm animal documentaries"}
    assert fields["narration"] == {
        "model": "eleven_v3",
        "stability": 0.0,
        "similarity": None,
        "style": None,
        "speed": 1.2,
    }
    assert fields["clips"] == {"duration": 10, "negative_prompt": "blur", "cfg_scale": 0.5}


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"brief": {"scene_count": 40}}, "brief.scene_count: must be 4-18, got 40"),
        ({"brief": {"scene_count": 3}}, "brief.scene_count: must be 4-18, got 3"),
        ({"brief": {"scene_count": "eight"}}, "brief.scene_count: must be 4-18, got 'eight'"),
        (
            {"brief": {"clip_seconds": 7}},
            "brief.clip_seconds: must be 5 or 10 (the clip lengths Kling makes), got 7",
        ),
        (
            {"brief": {"tone": ["calm"]}},
            "brief.tone: must be text (how the narrator sounds), got a list",
        ),
        (
            {"brief": {"premise": "x" * 1001}},
            "brief.premise: must be at most 1000 characters, got 1001",
        ),
        (
            {"brief": {"description_template": "é" * 2600}},
            "brief.description_template: 5,200 bytes, YouTube allows 5,000 (UTF-8)",
        ),
        (
            {"brief": {"description_template": "{description} <3"}},
            "brief.description_template: contains '<' (first at character 15); YouTube refuses "
            "< and >",
        ),
        (
            {"brief": {"description_template": "{description}\n{description}"}},
            "brief.description_template: may contain {description} at most once",
        ),
        ({"brief": {"tonne": "calm"}}, "brief.tonne: unknown key; did you mean 'tone'?"),
        (
            {"brief": {"language": "de"}},
            "brief.language: the channel's language is the top-level default_language; set it "
            "there",
        ),
        ({"brief": "calm"}, "brief: must be a mapping of fields, got 'calm'"),
        (
            {"narration": {"stability": 1.5}},
            "narration.stability: must be a number from 0 to 1, got 1.5",
        ),  # fmt: skip
        ({"narration": {"speed": 2}}, "narration.speed: must be a number from 0.7 to 1.2, got 2"),
        ({"narration": {"style": True}}, "narration.style: must be a number from 0 to 1, got true"),
        ({"narration": {"model": ""}}, "narration.model: must not be empty"),
        (
            {"narration": {"voice": "x"}},
            "narration.voice: unknown key; allowed keys: model, stability, similarity, style, "
            "speed",
        ),
        (
            {"clips": {"duration": 7}},
            "clips.duration: must be 5 or 10 (seconds; the clip lengths Kling makes), got 7",
        ),
        ({"clips": {"cfg_scale": -0.1}}, "clips.cfg_scale: must be a number from 0 to 1, got -0.1"),
        (
            {"retention": {"intermediates_days": 0}},
            "retention.intermediates_days: must be a whole number of days from 1 to 3650, got 0",
        ),
        (
            {"clips": {"negative_prompt": "x" * 501}},
            "clips.negative_prompt: must be at most 500 characters, got 501",
        ),
        (
            {"tags": ["nature documentary"] * 23},
            "tags: 482 characters as YouTube counts them (each tag's length, a comma between "
            "tags, 2 more for a tag with a space), 458 allowed (500 less 42 for the tag the "
            "upload adds)",
        ),
    ],
)
def test_it_reports_bad_brief_narration_and_clip_values(tmp_path, changes, expected):
    path = config_file(tmp_path, changes)
    assert errors_of(path) == [f"{path}: {expected}"]


def test_it_reports_every_problem_of_a_brief_at_once(tmp_path):
    path = config_file(tmp_path, {"brief": {"scene_count": 40, "clip_seconds": 7}})
    assert [error.split(": ")[1] for error in errors_of(path)] == [
        "brief.scene_count",
        "brief.clip_seconds",
    ]


def test_the_shipped_channels_have_a_valid_brief(tmp_path):
    sample = fields_of(Path(settings.BASE_DIR) / "channel_configs" / "pokechannel1.yaml")
    assert sample["brief"]["scene_count"] == 4 and sample["brief"]["premise"]
    template = Path(settings.BASE_DIR) / "channel_configs" / "_example.yaml"
    fields = fields_of(shutil.copy(template, tmp_path / "example-channel.yaml"))
    assert fields["brief"]["clip_seconds"] == 10
    assert "{description}" in fields["brief"]["description_template"]
    assert fields["narration"]["stability"] == 0.4
    assert fields["clips"] == {
        "duration": 10,
        "negative_prompt": "blur, distortion, text, watermark",
        "cfg_scale": 0.5,
    }


def test_the_writer_s_brief_carries_the_channel_s_language_and_tags():
    from core.text.channel_brief import brief_description, brief_for_writer, brief_validate

    document = brief_for_writer({"tone": "calm"}, language="de", default_tags=["natur"])
    brief, problems = brief_validate(document, for_writer=True)
    assert problems == []
    assert (brief["tone"], brief["language"], brief["default_tags"]) == ("calm", "de", ["natur"])
    assert brief_validate({"language": 5}, for_writer=True)[1] == [
        (".language", 'must be a language code such as "en", got 5')
    ]
    assert brief_description("", "Text.") == "Text."
    assert brief_description("Intro\n{description}\nLinks", "Text.") == "Intro\nText.\nLinks"
    assert brief_description("Links", "Text.") == "Text.\n\nLinks"

def test_it_reads_the_expected_cost_per_video_from_the_budget_block(tmp_path):
    budget = {"daily_usd": 25, "weekly_usd": 150, "per_video_usd": 9.5}
    path = config_file(tmp_path, {"budget": budget})

    assert fields_of(path)["budget_per_video_usd"] == Decimal("9.5")


def test_it_refuses_a_negative_expected_cost_per_video(tmp_path):
    budget = {"daily_usd": 25, "weekly_usd": 150, "per_video_usd": -1}
    path = config_file(tmp_path, {"budget": budget})

    assert errors_of(path) == [f"{path}: budget.per_video_usd: must be a positive number, got -1"]


def test_it_reads_a_channel_retention(tmp_path):
    path = config_file(tmp_path, {"retention": {"intermediates_days": 7, "finals_days": 365}})
    fields = fields_of(path)
    assert (fields["keep_intermediates_days"], fields["keep_finals_days"]) == (7, 365)
