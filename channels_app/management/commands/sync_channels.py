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
        parser.add_argument(
            "--actor", default="sync_channels", help="who the audit rows name"
        )

    def handle(self, *args, config_dir=None, check=False, actor="sync_channels", **options):
        config_dir = config_dir or Path(settings.CHANNEL_CONFIG_DIR)
        result = channel_sync_from_directory(config_dir=config_dir, check=check, actor=actor)
        for error in result.errors:
            self.stderr.write(str(error))
        for config in result.older_form:
            self.write_current_form_hint(config, check)
        for config in result.defaulted:
            self.stdout.write(f"{config.file}: {config.defaults_note}")
        self.stdout.write(result.summary())
        if result.errors:
            raise CommandError(
                f"{len(result.errors)} error(s) in the channel configs above; files with errors "
                "were left as they are in the database. Fix them and run the command again."
            )

    def write_current_form_hint(self, config, check):
        note = f"{config.file}: written in the older form of channel files; it loads as it is"
        if not check:
            self.stdout.write(f"{note} (run with --check to see it in the current form)")
            return
        indented = "".join(f"    {line}\n" for line in config.current_form.splitlines())
        self.stdout.write(
            f"{note}. Hint: the same channel in the current form (see channel_configs/"
            f"_example.yaml for every field):\n{indented}"
        )
