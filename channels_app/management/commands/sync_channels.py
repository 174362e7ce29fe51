from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from channels_app.services import channel_sync_from_directory


class Command(BaseCommand):
    help = (
        "Load channel_configs/<channel_id>.yaml into the database: create, update, and "
        "deactivate channels whose file is gone. --check validates only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--config-dir",
            type=Path,
            default=None,
            help="folder of channel YAML files (default: CHANNEL_CONFIG_DIR, channel_configs/)",
        )
        parser.add_argument(
            "--check", action="store_true", help="validate the files and write nothing"
        )

    def handle(self, *args, config_dir=None, check=False, **options):
        config_dir = config_dir or Path(settings.CHANNEL_CONFIG_DIR)
        result = channel_sync_from_directory(config_dir=config_dir, check=check)
        for error in result.errors:
            self.stderr.write(str(error))
        self.stdout.write(result.summary())
        if result.errors:
            raise CommandError(
                f"{len(result.errors)} error(s) in the channel configs above; files with errors "
                "were left as they are in the database. Fix them and run the command again."
            )
