"""The older channel file form the architecture document shows (channel_id, channel_name,
schedule, notion_database_id, youtube_channel_id, budget_daily_usd) loads as it is, and
`sync_channels --check` shows the same channel in the current form."""

import io
import shutil
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from channels_app.config import channel_config_read
from channels_app.models import Channel

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).parent / "fixtures" / "architecture" / "pokechannel1.yaml"
OLDER = {
    "channel_id": "poke",
    "channel_name": "Poke Nature",
    "schedule": "manual",
    "budget_daily_usd": 15,
}


def write(folder, data, name="poke.yaml"):
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def errors_of(path):
    config, errors, _ = channel_config_read(path)
    assert config is None
    return [str(error) for error in errors]


def sync(folder, *extra):
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command(
            "sync_channels", "--config-dir", str(folder), *extra, stdout=stdout, stderr=stderr
        )
        error = None
    except CommandError as raised:
        error = raised
    return stdout.getvalue(), stderr.getvalue(), error


def test_the_architecture_channel_file_passes_the_check_and_shows_the_current_form(tmp_path):
    shutil.copy(FIXTURE, tmp_path)
    stdout, stderr, error = sync(tmp_path, "--check")
    assert error is None and stderr == ""
    assert "pokechannel1.yaml: written in the older form of channel files" in stdout
    hint = stdout.split("current form (see channel_configs/_example.yaml for every field):\n")[1]
    hint_yaml = "\n".join(line[4:] for line in hint.splitlines() if line.startswith("    "))
    assert yaml.safe_load(hint_yaml) == {
        "id": "pokechannel1",
        "name": "Pokemon Nature Documentary",
        "schedule": "daily",
        "publish_time": "15:00",
        "notion_database_id": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        "youtube_channel_id": "UCxxxxxxxxxxxxxxxxxxxxxx",
        "budget": {"daily_usd": 15.0, "weekly_usd": 105},
    }
    assert stdout.strip().endswith("would have: created 1, updated 0, unchanged 0, deactivated 0")
    assert not Channel.objects.exists()


def test_the_hint_in_the_current_form_loads_to_the_same_channel(tmp_path):
    shutil.copy(FIXTURE, tmp_path)
    older, _, _ = channel_config_read(tmp_path / "pokechannel1.yaml")
    current_path = tmp_path / "current" / "pokechannel1.yaml"
    current_path.parent.mkdir()
    current_path.write_text(older.current_form)
    current, errors, _ = channel_config_read(current_path)
    assert errors == [] and current.current_form == ""
    assert current.fields == older.fields


def test_it_creates_the_channel_with_a_weekly_budget_of_seven_days_and_the_defaults(tmp_path):
    shutil.copy(FIXTURE, tmp_path)
    stdout, _, error = sync(tmp_path)
    assert error is None
    assert "run with --check to see it in the current form" in stdout
    channel = Channel.objects.get(pk="pokechannel1")
    assert channel.name == "Pokemon Nature Documentary"
    assert (channel.budget_daily_usd, channel.budget_weekly_usd) == (Decimal(15), Decimal(105))
    assert (channel.schedule, channel.publish_time, channel.timezone) == ("daily", time(15), "UTC")
    assert channel.youtube_channel_id == "UCxxxxxxxxxxxxxxxxxxxxxx"
    assert (channel.max_concurrent, channel.review_gates, channel.privacy) == (2, [], "private")


def test_a_weekly_cron_schedule_becomes_publish_days_and_time(tmp_path):
    path = write(tmp_path, {**OLDER, "schedule": "30 9 * * 1,4", "budget_daily_usd": 0.15})
    config, errors, _ = channel_config_read(path)
    assert errors == []
    assert config.fields["schedule"] == "weekly"
    assert config.fields["publish_days"] == ["mon", "thu"]
    assert config.fields["publish_time"] == time(9, 30)
    assert config.fields["budget_weekly_usd"] == Decimal("1.05")


def test_a_stated_weekly_budget_is_kept(tmp_path):
    config, errors, _ = channel_config_read(write(tmp_path, {**OLDER, "budget_weekly_usd": 50}))
    assert errors == [] and config.fields["budget_weekly_usd"] == Decimal(50)


def test_the_older_form_may_add_current_fields_that_it_has_no_name_for(tmp_path):
    path = write(tmp_path, {**OLDER, "schedule": "daily", "publish_time": "15:00"})
    config, errors, _ = channel_config_read(path)
    assert errors == [] and config.fields["publish_time"] == time(15)


@pytest.mark.parametrize(
    ("older_key", "current_key", "current_value"),
    [
        ("channel_id", "id", "poke"),
        ("channel_name", "name", "Poke"),
        ("budget_daily_usd", "budget", {"daily_usd": 1, "weekly_usd": 7}),
    ],
)
def test_mixing_both_forms_is_an_error_naming_both_keys(
    tmp_path, older_key, current_key, current_value
):
    path = write(tmp_path, {**OLDER, current_key: current_value})
    errors = errors_of(path)
    assert (
        f"{path}: {older_key}: the older form's {older_key} and the current form's "
        f"{current_key} are both in this file; keep one of them" in errors[0]
    )


def test_mixing_is_reported_by_the_check_command_with_the_file(tmp_path):
    write(tmp_path, {**OLDER, "id": "poke"})
    _, stderr, error = sync(tmp_path, "--check")
    assert error is not None
    assert "poke.yaml: channel_id: the older form's channel_id and the current form's id" in stderr


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"budget_daily_usd": -5}, "budget_daily_usd: must be a positive number, got -5"),
        ({"budget_daily_usd": "5"}, "budget_daily_usd: must be a positive number, got '5'"),
        ({"budget_daily_usd": 1.005}, "budget_daily_usd: must have at most 2 decimal places"),
        ({"budget_weekly_usd": 1}, "budget_weekly_usd: must be at least budget_daily_usd (15)"),
        ({"channel_id": "Poke Nature"}, "channel_id: 'Poke Nature' is not a valid channel id"),
        (
            {"channel_id": "other"},
            "does not match the file name 'poke'; the file must be named "
            "other.yaml (or set channel_id: poke)",
        ),
        ({"channel_name": ""}, "channel_name: must not be empty"),
        ({"channel_name": None}, 'channel_name: is required (e.g. channel_name: "My Channel")'),
        ({"budget_daily_usd": None}, "budget_daily_usd: is required (e.g. budget_daily_usd: 25)"),
        ({"schedule": "hourly"}, "schedule: must be one of daily, weekly, manual; got 'hourly'"),
        ({"schedule": "0 25 * * *"}, 'schedule: a cron schedule must be "MINUTE HOUR * * DAYS"'),
        ({"schedule": "0 9 1 * *"}, "schedule: a cron schedule must be"),
        ({"schedule": "0 9 * * fri-mon"}, "the range 'fri-mon' runs backwards"),
        ({"schedule": "0 9 * * *", "publish_time": "10:00"}, "remove publish_time"),
        ({"youtube_channel_id": "nope"}, "youtube_channel_id: must be a YouTube channel id"),
        ({"notion_database_id": "x"}, "notion_database_id: must be a Notion database id"),
        ({"channel_title": "x"}, "channel_title: unknown key"),
    ],
)
def test_bad_values_in_the_older_form_name_the_file_and_the_key_written(
    tmp_path, changes, expected
):
    data = {key: value for key, value in {**OLDER, **changes}.items() if value is not None}
    path = write(tmp_path, data)
    errors = errors_of(path)
    assert any(error.startswith(f"{path}: ") and expected in error for error in errors), errors
    assert len(errors) == 1, errors


DAILY_FIXTURE = Path(__file__).parent / "fixtures" / "architecture_daily" / "pokechannel1.yaml"


def test_the_architecture_s_daily_file_loads_at_the_default_time_and_says_so(tmp_path):
    shutil.copy(DAILY_FIXTURE, tmp_path)
    stdout, stderr, error = sync(tmp_path)
    assert error is None and stderr == ""
    channel = Channel.objects.get(pk="pokechannel1")
    assert (channel.schedule, channel.publish_time, channel.timezone) == ("daily", time(15), "UTC")
    assert (
        "pokechannel1.yaml: publishes daily at 15:00 UTC: publish_time and timezone not set, so "
        "the default (publish_time 15:00, timezone UTC)"
    ) in stdout


def test_the_defaults_note_names_only_what_the_file_leaves_out(tmp_path):
    write(tmp_path, {**OLDER, "schedule": "weekly", "publish_days": ["mon"],
                     "timezone": "Europe/Berlin"})  # fmt: skip
    stdout, _, error = sync(tmp_path, "--check")
    assert error is None
    assert "poke.yaml: publishes weekly at 15:00 Europe/Berlin: publish_time not set" in stdout


def test_a_cron_schedule_without_a_time_zone_is_said_to_be_in_utc(tmp_path):
    write(tmp_path, {**OLDER, "schedule": "0 9 * * *"})
    stdout, _, error = sync(tmp_path, "--check")
    assert error is None
    assert "poke.yaml: publishes daily at 09:00 UTC: timezone not set" in stdout


@pytest.mark.parametrize(
    "changes",
    [
        {"schedule": "manual"},
        {"schedule": "0 9 * * *", "timezone": "UTC"},
        {"schedule": "daily", "publish_time": "09:00", "timezone": "UTC"},
    ],
)
def test_a_file_that_says_when_it_publishes_gets_no_defaults_note(tmp_path, changes):
    write(tmp_path, {**OLDER, **changes})
    stdout, _, error = sync(tmp_path, "--check")
    assert error is None
    assert "not set, so the default" not in stdout
