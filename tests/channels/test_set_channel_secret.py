"""manage.py set_channel_secret and the credential services: stored encrypted, read back,
audited without the value, never taken from argv."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from channels_app.models import ChannelSecret
from channels_app.services import ChannelSecretInvalid, channel_secret_get, channel_secret_set
from core.models import AuditLog
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

SECRET = "sk-live-4f9a2c7e1b8d"


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def set_secret(channel_id, name, stdin):
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("set_channel_secret", channel_id, name, stdin=stdin, stdout=stdout, stderr=stderr)
    return stdout.getvalue() + stderr.getvalue()


def raw_values(channel_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT value FROM channels_app_channelsecret WHERE channel_id = %s", [channel_id]
        )
        return [row[0] for row in cursor.fetchall()]


def test_it_reads_the_secret_from_stdin_and_stores_it():
    channel = ChannelFactory(id="poke")
    output = set_secret("poke", "gemini_api_key", io.StringIO(SECRET + "\n"))
    assert output == "Stored Gemini API key (gemini_api_key) for channel poke, encrypted.\n"
    assert channel_secret_get(channel=channel, name="gemini_api_key") == SECRET


def test_it_never_prints_the_value():
    ChannelFactory(id="poke")
    output = set_secret("poke", "kie_api_key", io.StringIO(SECRET))
    assert SECRET not in output


def test_it_stores_ciphertext_not_plaintext():
    ChannelFactory(id="poke")
    set_secret("poke", "elevenlabs_api_key", io.StringIO(SECRET))
    (stored,) = raw_values("poke")
    assert stored and SECRET not in stored


def test_it_writes_an_audit_row_without_the_value():
    ChannelFactory(id="poke")
    set_secret("poke", "notion_token", io.StringIO(SECRET))
    entry = AuditLog.objects.get(action="credential_changed")
    assert entry.actor.startswith("manage.py")
    assert (entry.object_type, entry.object_id) == ("channel", "poke")
    assert entry.metadata == {"name": "notion_token", "created": True}
    assert SECRET not in f"{entry.notes} {entry.metadata} {entry.actor}"


def test_it_replaces_an_existing_secret():
    channel = ChannelFactory(id="poke")
    set_secret("poke", "gemini_api_key", io.StringIO("old-value"))
    output = set_secret("poke", "gemini_api_key", io.StringIO(SECRET))
    assert output.startswith("Replaced Gemini API key")
    assert ChannelSecret.objects.filter(channel=channel).count() == 1
    assert channel_secret_get(channel=channel, name="gemini_api_key") == SECRET
    assert AuditLog.objects.filter(action="credential_changed").count() == 2


def test_it_keeps_a_multi_line_json_value_whole():
    channel = ChannelFactory(id="poke")
    oauth = '{\n  "refresh_token": "1//abc",\n  "client_id": "x.apps.googleusercontent.com"\n}'
    set_secret("poke", "youtube_oauth", io.StringIO(oauth + "\n"))
    assert channel_secret_get(channel=channel, name="youtube_oauth") == oauth


def test_it_prompts_without_echo_on_a_terminal(monkeypatch):
    channel = ChannelFactory(id="poke")
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or SECRET)
    set_secret("poke", "kie_api_key", FakeTerminal())
    assert prompts == ["KIE.ai API key for poke (input hidden): "]
    assert channel_secret_get(channel=channel, name="kie_api_key") == SECRET


@pytest.mark.parametrize("value", ["", "  \n\t"])
def test_it_refuses_an_empty_value_and_stores_nothing(value):
    ChannelFactory(id="poke")
    with pytest.raises(CommandError) as error:
        set_secret("poke", "gemini_api_key", io.StringIO(value))
    assert str(error.value) == (
        "the value for gemini_api_key is empty; nothing was stored (pipe the value in on stdin "
        "or type it at the prompt)"
    )
    assert raw_values("poke") == []
    assert not AuditLog.objects.filter(action="credential_changed").exists()


def test_it_names_an_unknown_channel_and_how_to_add_it():
    ChannelFactory(id="poke")
    with pytest.raises(CommandError) as error:
        set_secret("pokey", "gemini_api_key", io.StringIO(SECRET))
    assert str(error.value) == (
        "unknown channel 'pokey' (known: poke); add channel_configs/pokey.yaml and run "
        "`python manage.py sync_channels`"
    )


def test_it_names_an_unknown_secret_name_and_the_valid_ones():
    ChannelFactory(id="poke")
    with pytest.raises(CommandError) as error:
        set_secret("poke", "openai_key", io.StringIO(SECRET))
    assert str(error.value) == (
        "unknown secret name 'openai_key'; choose one of youtube_oauth, notion_token, "
        "gemini_api_key, kie_api_key, elevenlabs_api_key"
    )


def test_it_does_not_accept_the_value_as_an_argument():
    ChannelFactory(id="poke")
    with pytest.raises(CommandError, match="unrecognized arguments"):
        call_command("set_channel_secret", "poke", "gemini_api_key", SECRET)
    assert raw_values("poke") == []


def test_the_service_refuses_an_unknown_name_and_an_empty_value():
    channel = ChannelFactory(id="poke")
    with pytest.raises(ChannelSecretInvalid, match="unknown secret name 'aws'"):
        channel_secret_set(channel=channel, name="aws", value=SECRET, actor="test")
    with pytest.raises(ChannelSecretInvalid, match="is empty"):
        channel_secret_set(channel=channel, name="notion_token", value="", actor="test")


def test_getting_a_secret_that_was_never_set_returns_none():
    channel = ChannelFactory(id="poke")
    assert channel_secret_get(channel=channel, name="notion_token") is None
