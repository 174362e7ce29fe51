import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from channels_app.models import SecretName
from channels_app.selectors import UnknownChannel, channel_get
from channels_app.services import ChannelSecretInvalid, channel_secret_set


class Command(BaseCommand):
    help = (
        "Store a channel's credential encrypted in the database. The value is read from stdin "
        "(e.g. `... < key.txt`) or, on a terminal, from a hidden prompt; never from arguments, "
        f"which every user of the machine can see. Names: {', '.join(SecretName.values)}."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("channel", help="the channel id, as in channel_configs/<id>.yaml")
        parser.add_argument("name", help=f"one of {', '.join(SecretName.values)}")

    def handle(self, *args, channel, name, **options):
        channel_object = self.find_channel(channel)
        if name not in SecretName.values:
            raise CommandError(
                f"unknown secret name {name!r}; choose one of {', '.join(SecretName.values)}"
            )
        label = SecretName(name).label
        value = self.read_secret(options.get("stdin") or sys.stdin, f"{label} for {channel}")
        try:
            created = channel_secret_set(
                channel=channel_object, name=name, value=value, actor=self.actor()
            )
        except ChannelSecretInvalid as error:
            raise CommandError(str(error)) from None
        verb = "Stored" if created else "Replaced"
        self.stdout.write(f"{verb} {label} ({name}) for channel {channel}, encrypted.")

    def find_channel(self, channel_id):
        try:
            return channel_get(channel_id)
        except UnknownChannel as error:
            raise CommandError(str(error)) from None

    def read_secret(self, stdin, prompt):
        if not stdin.isatty():
            return stdin.read()
        try:
            return getpass.getpass(f"{prompt} (input hidden): ")
        except (EOFError, KeyboardInterrupt):
            raise CommandError("cancelled; nothing was stored") from None

    def actor(self):
        try:
            return f"manage.py ({getpass.getuser()})"
        except (KeyError, OSError):
            return "manage.py"
