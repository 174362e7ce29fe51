"""`manage.py release`: the release step of every deploy (Procfile: release). Applies the
migrations; then, when the operator opted in (VIDEOGEN_SYNC_CHANNELS_ON_RELEASE=true), loads the
channel files into the database (audited like sync_channels); otherwise names the files that
differ from the database, so a deploy log shows drift without changing a channel behind the
operator's back."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from channels_app.services import channel_files_drift


class Command(BaseCommand):
    help = "Migrate, then sync the channel files (if opted in) or report how they differ."

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, stdout=self.stdout, stderr=self.stderr)
        if settings.SYNC_CHANNELS_ON_RELEASE:
            try:
                call_command("sync_channels", actor="release step", stdout=self.stdout)
            except CommandError as error:
                # A bad channel file stops no deploy: the other files were synced; say it loudly.
                self.stderr.write(f"release: channel files not all synced: {error}")
            return
        drift, errors = channel_files_drift(config_dir=Path(settings.CHANNEL_CONFIG_DIR))
        for line in drift + errors:
            self.stdout.write(f"release: {line}")
        if drift or errors:
            self.stdout.write(
                "release: channel files differ from the database; run `manage.py sync_channels` "
                "(or set VIDEOGEN_SYNC_CHANNELS_ON_RELEASE=true to sync at each deploy)"
            )
