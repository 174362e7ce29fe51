"""Checking and storing a channel's OAuth consent (manage.py setup_channel_oauth): the consent
must belong to the channel's YouTube channel, or nothing is stored."""

from django.db import transaction
from django.utils import timezone
from googleapiclient.errors import HttpError

from channels_app.models import SecretName
from channels_app.services import channel_secret_set
from core.audit import audit_log_record
from costs.quota import QuotaUnavailable, quota_reserve
from pipeline.integrations.youtube_client import YouTube, api_error_reason


class OAuthSetupError(Exception):
    """The consent was given for the wrong channel, or the channel could not be checked."""


def oauth_channel_check(channel, credentials):
    """The YouTube channel the credentials belong to, refused unless it is the channel's."""
    client = YouTube(credentials)
    try:
        quota_reserve(channel.quota_project, "channels.list", now=timezone.now())
        answer = client.api.channels().list(part="id,snippet", mine=True).execute()
    except QuotaUnavailable as unavailable:
        raise OAuthSetupError(f"cannot check the channel now: {unavailable}") from None
    except HttpError as error:
        reason, message = api_error_reason(error.content)
        raise OAuthSetupError(
            f"channels.list failed: YouTube answered {error.resp.status} {reason} {message}"
        ) from None
    items = answer.get("items") or []
    if not items:
        raise OAuthSetupError(
            "the Google account you signed in with has no YouTube channel; nothing was stored. "
            "Sign in with the account (or brand account) that owns the channel."
        )
    found = items[0]["id"]
    title = items[0].get("snippet", {}).get("title", "")
    if not channel.youtube_channel_id:
        raise OAuthSetupError(
            f"channel_configs/{channel.pk}.yaml: youtube_channel_id is not set, so the consent "
            f"cannot be checked; nothing was stored. The account you signed in with owns "
            f"{found} ('{title}'): if that is right, set youtube_channel_id: {found}, run "
            "`manage.py sync_channels`, then this command again."
        )
    if found != channel.youtube_channel_id:
        raise OAuthSetupError(
            f"the consent was given for YouTube channel {found} ('{title}'), but "
            f"channel_configs/{channel.pk}.yaml names {channel.youtube_channel_id}; nothing was "
            "stored. Run the command again and pick the right channel (or brand account) on "
            "Google's consent screen."
        )
    return found, title


def channel_oauth_store(*, channel, credentials, actor):
    """Check the credentials' channel, then store them encrypted (never printed or logged)."""
    found, title = oauth_channel_check(channel, credentials)
    with transaction.atomic():
        channel_secret_set(
            channel=channel,
            name=SecretName.YOUTUBE_OAUTH,
            value=credentials.to_json(),
            actor=actor,
        )
        audit_log_record(
            actor=actor,
            action="youtube_oauth_setup",
            object_type="channel",
            object_id=channel.pk,
            metadata={"youtube_channel_id": found, "scopes": list(credentials.scopes or [])},
        )
    return found, title
