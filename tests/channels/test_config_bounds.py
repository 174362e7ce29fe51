"""Bounded channel files: each bad file gets one clear line from sync_channels (--check or not),
no traceback, and every other file is still checked and synced."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from channels_app.models import Channel
from tests.channels.test_sync_channels import write_config

pytestmark = pytest.mark.django_db

def sync(folder, *extra):
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "sync_channels", "--config-dir", str(folder), *extra, stdout=stdout, stderr=stderr
        )
    return stderr.getvalue().splitlines(), str(raised.value)


@pytest.fixture
def folder(tmp_path):
    """A folder with one good channel (alpha) and one file per bound broken."""
    configs = tmp_path / "channel_configs"
    configs.mkdir()
    write_config(configs, "alpha")
    text = write_config(configs, "deep").read_text()
    (configs / "deep.yaml").write_text(text + "brief: " + "[" * 1000 + "]" * 1000 + "\n")
    text = write_config(configs, "nulname").read_text()
    (configs / "nulname.yaml").write_text(text.replace("A Channel", '"A \\0 Channel"'))
    text = write_config(configs, "rawnul").read_text()
    (configs / "rawnul.yaml").write_text(text.replace("A Channel", "A \x00 Channel"))
    text = write_config(configs, "latin").read_text()
    (configs / "latin.yaml").write_bytes(text.replace("A Channel", "Caf\xe9").encode("latin-1"))
    text = write_config(configs, "nan").read_text()
    (configs / "nan.yaml").write_text(text.replace("daily_usd: 10", "daily_usd: .nan"))
    text = write_config(configs, "inf").read_text()
    (configs / "inf.yaml").write_text(text.replace("weekly_usd: 50", "weekly_usd: .inf"))
    write_config(configs, "voice", voice_id="../../etc/passwd")
    write_config(configs, "model", video_model="--output=/tmp/x")
    write_config(configs, "narrator", narration={"model": "a b"})
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("id: linked\nname: PRIVATE CONTENT OF ANOTHER FILE\n")
    (configs / "linked.yaml").symlink_to(secret)
    return configs


EXPECTED = {
    "deep.yaml": "line 9, column 27: invalid YAML: nested deeper than 20 levels of mappings "
    "and lists; flatten it",
    "inf.yaml": "budget.weekly_usd: must be a finite number, got inf",
    "latin.yaml": "the file is not UTF-8 text (byte 20 cannot be read); save it as UTF-8",
    "linked.yaml": "is a symbolic link; channel files must be regular files in the folder (copy "
    "the file here instead of linking it)",
    "model.yaml": "video_model: must be a model name: letters, digits, '.', '_' or '-', in at "
    "most 4 parts joined by '/', each starting with a letter or digit (e.g. kling/v2-1-standard, "
    "eleven_multilingual_v2), got '--output=/tmp/x'",
    "nan.yaml": "budget.daily_usd: must be a finite number, got nan",
    "narrator.yaml": "narration.model: must be a model name: letters, digits, '.', '_' or '-', "
    "in at most 4 parts joined by '/', each starting with a letter or digit (e.g. "
    "kling/v2-1-standard, eleven_multilingual_v2), got 'a b'",
    "nulname.yaml": "name: contains a NUL character at position 3; remove it (only tab and line "
    "breaks are allowed)",
    "rawnul.yaml": "line 2, column 9: a NUL character; remove it (only tab and line breaks are "
    "allowed)",
    "voice.yaml": "voice_id: must be a voice id: 1-64 letters, digits, '_' or '-' (e.g. "
    "21m00Tcm4TlvDq8ikWAM), got '../../etc/passwd'",
}


@pytest.mark.parametrize("check", [True, False], ids=["--check", "sync"])
def test_each_bad_file_gets_one_clear_line_and_the_good_file_is_still_checked(folder, check):
    lines, summary = sync(folder, *(["--check"] if check else []))

    assert sorted(lines) == sorted(
        f"{folder / name}: {message}" for name, message in EXPECTED.items()
    )
    assert summary.startswith(f"{len(EXPECTED)} error(s) in the channel configs above")
    assert not any("Traceback" in line or "PRIVATE CONTENT" in line for line in lines)
    assert Channel.objects.filter(pk="alpha").exists() is not check
