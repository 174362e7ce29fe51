"""manage.py setup_channel_oauth: the consent is stored only for the channel it belongs to, and no
token is ever printed. The browser step is replaced by handing the command credentials."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from google.oauth2.credentials import Credentials

from channels_app.models import ChannelSecret, SecretName
from channels_app.services import channel_secret_get
from core.models import AuditLog
from costs.models import YouTubeQuotaUsage
from pipeline.integrations.youtube_client import SCOPES
from pipeline.management.commands import setup_channel_oauth
from tests.factories import ChannelFactory
from tests.fakes.youtube import ACCESS_TOKEN, CHANNEL_ID, REFRESH_TOKEN

pytestmark = pytest.mark.django_db
CLIENT_SECRET = "fake-client-secret"


@pytest.fixture
def consent(monkeypatch):
    """Google's consent screen, answered: the credentials the loopback flow would return."""
    credentials = Credentials(
        token=ACCESS_TOKEN,
        refresh_token=REFRESH_TOKEN,
        token_uri="https://oauth2.googleapis.com/token",
        client_id="fake-client.apps.googleusercontent.com",
        client_secret=CLIENT_SECRET,
        scopes=SCOPES,
    )
    seen = {}

    def fake_consent(self, client_secrets, *, port, open_browser):
        seen.update(port=port, open_browser=open_browser)
        return credentials

    monkeypatch.setattr(setup_channel_oauth.Command, "consent", fake_consent)
    return seen


@pytest.fixture
def client_secrets(tmp_path):
    path = tmp_path / "client_secret.json"
    path.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": "fake-client.apps.googleusercontent.com",
                    "client_secret": CLIENT_SECRET,
                    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                    "token_uri": "https://oauth2.googleapis.com/token",
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return path


def run(channel_id, client_secrets, *extra):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "setup_channel_oauth", channel_id, "--client-secrets", str(client_secrets), *extra,
            stdout=out, stderr=err,
        )  # fmt: skip
    finally:
        printed = out.getvalue() + err.getvalue()
        for secret in (ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET):
            assert secret not in printed
    return printed


def test_it_stores_the_consent_for_the_right_channel_encrypted(
    fake_youtube, consent, client_secrets
):
    channel = ChannelFactory(id="tube", youtube_channel_id=CHANNEL_ID)

    printed = run("tube", client_secrets, "--port", "8765")

    assert f"YouTube channel {CHANNEL_ID}" in printed
    stored = json.loads(channel_secret_get(channel=channel, name=SecretName.YOUTUBE_OAUTH))
    assert stored["refresh_token"] == REFRESH_TOKEN
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM channels_app_channelsecret")
        (raw,) = cursor.fetchone()
    assert REFRESH_TOKEN not in raw  # encrypted at rest
    assert AuditLog.objects.filter(action="youtube_oauth_setup", object_id="tube").exists()
    assert consent == {"port": 8765, "open_browser": False}
    assert YouTubeQuotaUsage.objects.get(quota_project="default").units_used == 1  # channels.list


def test_it_refuses_a_consent_given_for_another_channel_and_stores_nothing(
    fake_youtube, consent, client_secrets
):
    ChannelFactory(id="tube", youtube_channel_id="UCsomeotherchannel000000")

    with pytest.raises(CommandError) as refused:
        run("tube", client_secrets)

    message = str(refused.value)
    assert f"the consent was given for YouTube channel {CHANNEL_ID}" in message
    assert "channel_configs/tube.yaml names UCsomeotherchannel000000" in message
    assert "nothing was stored" in message
    assert not ChannelSecret.objects.exists()
    assert not AuditLog.objects.filter(action="youtube_oauth_setup").exists()


def test_a_channel_without_youtube_channel_id_is_told_which_id_it_signed_in_with(
    fake_youtube, consent, client_secrets
):
    ChannelFactory(id="tube", youtube_channel_id="")

    with pytest.raises(CommandError, match=f"set youtube_channel_id: {CHANNEL_ID}"):
        run("tube", client_secrets)
    assert not ChannelSecret.objects.exists()


def test_an_unknown_channel_and_a_missing_client_file_are_named(tmp_path, client_secrets):
    with pytest.raises(CommandError, match="unknown channel 'nope'"):
        run("nope", client_secrets)
    ChannelFactory(id="tube")
    with pytest.raises(CommandError, match="--client-secrets .*missing.json: no such file"):
        run("tube", tmp_path / "missing.json")


def test_the_flow_asks_for_upload_and_read_only_scopes_offline(client_secrets):
    flow = setup_channel_oauth.Command().flow(client_secrets)
    flow.redirect_uri = "http://localhost:8080/"
    url, _ = flow.authorization_url()

    assert flow.oauth2session.scope == SCOPES
    assert "youtube.upload" in url and "youtube.readonly" in url
    assert "access_type=offline" in url  # a refresh token comes back
    assert CLIENT_SECRET not in url
