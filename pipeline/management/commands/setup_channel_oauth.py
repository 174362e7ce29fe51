import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from google.auth.exceptions import GoogleAuthError
from google_auth_oauthlib.flow import InstalledAppFlow

from channels_app.selectors import UnknownChannel, channel_get
from channels_app.services import ChannelSecretInvalid
from pipeline.integrations.youtube_client import SCOPES
from pipeline.integrations.youtube_oauth import OAuthSetupError, channel_oauth_store


class Command(BaseCommand):
    help = (
        "Authorize uploads to a channel's YouTube account. Opens a local web server for Google's "
        "consent screen and prints the URL to open (over SSH: forward the port first, e.g. "
        "`ssh -L 8080:localhost:8080 server`). The consent is checked with channels.list and "
        "stored encrypted only when it belongs to the channel's youtube_channel_id. Tokens are "
        "never printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("channel", help="the channel id, as in channel_configs/<id>.yaml")
        parser.add_argument(
            "--client-secrets",
            required=True,
            type=Path,
            help="the OAuth client JSON (Desktop app) downloaded from Google Cloud Console",
        )
        parser.add_argument(
            "--port", type=int, default=8080, help="the local port Google redirects to (8080)"
        )
        parser.add_argument(
            "--open-browser",
            action="store_true",
            help="open a browser on this machine instead of only printing the URL",
        )

    def handle(self, *args, channel, client_secrets, port, open_browser, **options):
        channel_object = self.find_channel(channel)
        credentials = self.consent(client_secrets, port=port, open_browser=open_browser)
        try:
            found, title = channel_oauth_store(
                channel=channel_object, credentials=credentials, actor=self.actor()
            )
        except (OAuthSetupError, ChannelSecretInvalid, GoogleAuthError) as error:
            raise CommandError(f"channel {channel}: {error}") from None
        self.stdout.write(
            f"Stored YouTube credentials for channel {channel} (YouTube channel {found}, "
            f"'{title}'), encrypted."
        )

    def find_channel(self, channel_id):
        try:
            return channel_get(channel_id)
        except UnknownChannel as error:
            raise CommandError(str(error)) from None

    def flow(self, client_secrets):
        if not client_secrets.is_file():
            raise CommandError(
                f"--client-secrets {client_secrets}: no such file; download the OAuth client "
                "(type Desktop app) JSON from Google Cloud Console > APIs & Services > Credentials"
            )
        try:
            return InstalledAppFlow.from_client_secrets_file(str(client_secrets), scopes=SCOPES)
        except ValueError as error:
            raise CommandError(
                f"--client-secrets {client_secrets}: not an OAuth client file ({error})"
            ) from None

    def consent(self, client_secrets, *, port, open_browser):
        """Run the loopback flow; returns google.oauth2.credentials.Credentials."""
        flow = self.flow(client_secrets)
        try:
            return flow.run_local_server(
                port=port,
                open_browser=open_browser,
                authorization_prompt_message="Open this URL in a browser to authorize: {url}",
                success_message="Authorized. You can close this tab and return to the terminal.",
            )
        except OSError as error:
            raise CommandError(
                f"could not listen on port {port} ({error}); choose another with --port"
            ) from None
        except Exception as error:  # oauthlib raises its own errors for a refused consent
            raise CommandError(f"the authorization failed: {type(error).__name__}") from None

    def actor(self):
        try:
            return f"manage.py setup_channel_oauth ({getpass.getuser()})"
        except (KeyError, OSError):
            return "manage.py setup_channel_oauth"
