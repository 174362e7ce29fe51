"""The YouTube Data API client of a channel: its stored OAuth credentials, the authorized
transport (tests swap `_transport` for a fake token endpoint), and how an error answer reads."""

import json
import urllib.parse

import google_auth_httplib2
import httplib2
from django.conf import settings
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from channels_app.models import SecretName
from channels_app.services import channel_secret_get, channel_secret_set
from core.alerts import alert_send
from pipeline.runner import Outcome
from pipeline.unit_spec import UnitError

SCOPES = [
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
]


def _transport():
    """The HTTP transport under every YouTube call (tests swap it to fake the token endpoint)."""
    return httplib2.Http(timeout=settings.YOUTUBE_HTTP_TIMEOUT_SECONDS)


def setup_hint(channel):
    return f"run `manage.py setup_channel_oauth {channel.pk} --client-secrets FILE` again"


def channel_credentials(channel):
    """The channel's stored OAuth credentials (google.oauth2.credentials.Credentials)."""
    stored = channel_secret_get(channel=channel, name=SecretName.YOUTUBE_OAUTH)
    if not stored:
        raise UnitError(
            f"channel {channel.pk}: no YouTube credentials stored; {setup_hint(channel)}",
            outcome=Outcome.CONFIG,
        )
    try:
        return Credentials.from_authorized_user_info(json.loads(stored))
    except (ValueError, KeyError, TypeError):
        # The message names the problem, never the value.
        raise UnitError(
            f"channel {channel.pk}: the stored YouTube credentials are not valid OAuth JSON; "
            f"{setup_hint(channel)}",
            outcome=Outcome.CONFIG,
        ) from None


class YouTube:
    """A YouTube Data API v3 client and the authorized transport under it (the resumable protocol
    is spoken on the same transport, so it refreshes the token the same way)."""

    def __init__(self, credentials, *, channel=None):
        self.credentials, self.channel = credentials, channel
        self._stored_token = credentials.token
        transport = _transport()
        # 308 means "resume incomplete" here, not a redirect (googleapiclient's build_http too).
        transport.redirect_codes = transport.redirect_codes - {308}
        self.http = google_auth_httplib2.AuthorizedHttp(credentials, http=transport)
        options = {"api_endpoint": settings.YOUTUBE_API_BASE} if settings.YOUTUBE_API_BASE else None
        # The discovery document bundled with the library: building needs no network.
        self.api = build(
            "youtube",
            "v3",
            http=self.http,
            client_options=options,
            static_discovery=True,
            cache_discovery=False,
        )

    @classmethod
    def for_channel(cls, channel):
        """A client on the channel's stored credentials; `save_refreshed_token()` afterwards."""
        return cls(channel_credentials(channel), channel=channel)

    def save_refreshed_token(self):
        """Write a refreshed access token back to the channel's encrypted credential, so the next
        client (another task, another worker) uses it instead of refreshing again. Called after
        the client's calls, whatever they did; a no-op when no refresh happened."""
        token = self.credentials.token
        if self.channel is None or not token or token == self._stored_token:
            return False
        channel_secret_set(
            channel=self.channel,
            name=SecretName.YOUTUBE_OAUTH,
            value=self.credentials.to_json(),
            actor="youtube-token-refresh",
        )
        self._stored_token = token
        return True


def endpoint_url(url):
    """The SDK replaces only the host of media upload URLs with api_endpoint's and keeps https;
    point the whole URL (scheme too) at YOUTUBE_API_BASE."""
    if not settings.YOUTUBE_API_BASE:
        return url
    base = urllib.parse.urlsplit(settings.YOUTUBE_API_BASE)
    return urllib.parse.urlunsplit(
        urllib.parse.urlsplit(url)._replace(scheme=base.scheme, netloc=base.netloc)
    )


def auth_failed(channel, error, *, task=None):
    """Consent revoked or refresh token expired: nothing will work until a person re-authorizes."""
    detail = str(error.args[0] if error.args else error).split(":")[0][:100]
    message = (
        f"channel {channel.pk}: YouTube refused to refresh the OAuth token ({detail}); the "
        f"consent was revoked or has expired. {setup_hint(channel)}"
    )
    alert_send(
        level="ERROR",
        title=f"{channel.pk}: YouTube authorization needed",
        message=message,
        key=f"youtube-auth:{channel.pk}",
        fields={"task": str(task.pk)} if task else None,
    )
    return UnitError(message, outcome=Outcome.AUTH)


def api_error_reason(content):
    """(reason, message) of a Google API error body."""
    try:
        error = json.loads(content or b"{}").get("error", {})
        reasons = [item.get("reason", "") for item in error.get("errors", [])]
        return (reasons[0] if reasons else error.get("status", "")), error.get("message", "")
    except (ValueError, AttributeError):
        return "", (content or b"")[:200].decode(errors="replace")
