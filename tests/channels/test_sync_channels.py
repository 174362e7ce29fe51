"""manage.py sync_channels: channel YAML files into the database."""

import io
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

from channels_app.models import Channel
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

BASE = {
    "name": "A Channel",
    "schedule": "daily",
    "timezone": "UTC",
    "publish_time": "15:00",
    "budget": {"daily_usd": 10, "weekly_usd": 50},
}


def write_config(folder, channel_id, **changes):
    path = Path(folder) / f"{channel_id}.yaml"
    path.write_text(yaml.safe_dump({"id": channel_id, **BASE, **changes}, sort_keys=False))
    return path


def sync(folder, *extra):
    """Run the command; return (stdout, stderr, CommandError or None)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command(
            "sync_channels", "--config-dir", str(folder), *extra, stdout=stdout, stderr=stderr
        )
        error = None
    except CommandError as raised:
        error = raised
    return stdout.getvalue(), stderr.getvalue(), error


def test_it_creates_channels_from_their_files(tmp_path):
    path = write_config(tmp_path, "alpha", budget={"daily_usd": 12.5, "weekly_usd": 60})
    write_config(tmp_path, "beta")
    stdout, stderr, error = sync(tmp_path)
    assert error is None and stderr == ""
    assert stdout.strip() == "created 2, updated 0, unchanged 0, deactivated 0"
    alpha = Channel.objects.get(pk="alpha")
    assert alpha.budget_daily_usd == Decimal("12.50")
    assert alpha.publish_time == time(15, 0)
    assert alpha.is_active
    assert alpha.config_file == str(path)
    assert len(alpha.config_sha256) == 64


def test_it_leaves_unchanged_channels_alone(tmp_path):
    write_config(tmp_path, "alpha")
    sync(tmp_path)
    before = Channel.objects.get(pk="alpha").updated_at
    stdout, _, error = sync(tmp_path)
    assert error is None
    assert stdout.strip() == "created 0, updated 0, unchanged 1, deactivated 0"
    assert Channel.objects.get(pk="alpha").updated_at == before


def test_it_updates_a_channel_whose_file_changed(tmp_path):
    write_config(tmp_path, "alpha")
    sync(tmp_path)
    write_config(tmp_path, "alpha", name="Renamed", review_gates=["video"])
    stdout, _, _ = sync(tmp_path)
    assert stdout.strip() == "created 0, updated 1, unchanged 0, deactivated 0"
    alpha = Channel.objects.get(pk="alpha")
    assert (alpha.name, alpha.review_gates) == ("Renamed", ["video"])


def test_it_deactivates_a_channel_whose_file_is_gone_and_never_deletes_it(tmp_path):
    write_config(tmp_path, "alpha")
    beta = write_config(tmp_path, "beta")
    sync(tmp_path)
    beta.unlink()
    stdout, _, error = sync(tmp_path)
    assert error is None
    assert stdout.strip() == "created 0, updated 0, unchanged 1, deactivated 1"
    assert Channel.objects.get(pk="beta").is_active is False
    assert Channel.objects.get(pk="alpha").is_active is True


def test_it_reactivates_a_channel_whose_file_is_back(tmp_path):
    ChannelFactory(id="alpha", is_active=False)
    write_config(tmp_path, "alpha")
    stdout, _, _ = sync(tmp_path)
    assert stdout.strip() == "created 0, updated 1, unchanged 0, deactivated 0"
    assert Channel.objects.get(pk="alpha").is_active is True


def test_check_validates_and_writes_nothing(tmp_path):
    write_config(tmp_path, "alpha")
    ChannelFactory(id="gone")
    stdout, _, error = sync(tmp_path, "--check")
    assert error is None
    assert stdout.strip() == (
        "check only, nothing written; would have: created 1, updated 0, unchanged 0, deactivated 1"
    )
    assert list(Channel.objects.values_list("pk", "is_active")) == [("gone", True)]


def test_one_bad_file_does_not_hide_the_others(tmp_path):
    write_config(tmp_path, "alpha")
    bad_budget = write_config(tmp_path, "beta", budget={"daily_usd": -5, "weekly_usd": 50})
    bad_gate = write_config(tmp_path, "gamma", review_gates=["audi0"])
    stdout, stderr, error = sync(tmp_path)
    assert stderr.splitlines() == [
        f"{bad_budget}: budget.daily_usd: must be a positive number, got -5",
        f"{bad_gate}: review_gates[0]: unknown review gate 'audi0'; choose from assets, video, "
        "audio (did you mean 'audio'?)",
    ]
    assert str(error) == (
        "2 error(s) in the channel configs above; files with errors were left as they are in "
        "the database. Fix them and run the command again."
    )
    assert stdout.strip() == "created 1, updated 0, unchanged 0, deactivated 0"
    assert list(Channel.objects.values_list("pk", flat=True)) == ["alpha"]


def test_an_invalid_file_changes_nothing_for_its_channel(tmp_path):
    write_config(tmp_path, "alpha")
    sync(tmp_path)
    (tmp_path / "alpha.yaml").write_text("id: alpha\nname: [broken\n")
    stdout, stderr, error = sync(tmp_path)
    assert error is not None
    assert stderr.startswith(f"{tmp_path / 'alpha.yaml'}: line 3, column 1: invalid YAML: ")
    assert stdout.strip() == "created 0, updated 0, unchanged 0, deactivated 0"
    alpha = Channel.objects.get(pk="alpha")
    assert (alpha.name, alpha.is_active) == ("A Channel", True)


def test_a_missing_folder_is_an_error_and_deactivates_nothing(tmp_path):
    ChannelFactory(id="alpha")
    _, stderr, error = sync(tmp_path / "nope")
    assert error is not None
    assert stderr.strip() == (
        f"{tmp_path / 'nope'}: is not a folder; pass --config-dir or set CHANNEL_CONFIG_DIR"
    )
    assert Channel.objects.get(pk="alpha").is_active is True


def test_it_exits_non_zero_when_a_file_is_invalid(tmp_path, monkeypatch, capsys):
    (tmp_path / "alpha.yaml").write_text("")
    # run_from_argv closes every connection when it ends; the test's transaction needs its own.
    monkeypatch.setattr("django.db.connections.close_all", lambda: None)
    argv = ["manage.py", "sync_channels", "--check", "--config-dir", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(argv)
    assert exit_info.value.code == 1
    assert "alpha.yaml: the file is empty" in capsys.readouterr().err


def test_it_reads_the_project_folder_by_default_and_loads_the_sample_channel():
    assert Path(settings.CHANNEL_CONFIG_DIR) == Path(settings.BASE_DIR) / "channel_configs"
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("sync_channels", stdout=stdout, stderr=stderr)
    assert stderr.getvalue() == ""
    channel = Channel.objects.get(pk="pokechannel1")
    assert channel.config_file == "channel_configs/pokechannel1.yaml"
    assert channel.providers == {
        "image": "local",
        "video": "local",
        # The file's `voice: local`, spelt out: narration and sound effects are two families.
        "narration": "local",
        "sfx": "local",
        "upload": "local",
        "text": "local",
    }
    assert not Channel.objects.filter(pk="example-channel").exists()
