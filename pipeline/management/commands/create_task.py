import difflib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from channels_app.models import Channel
from core.text.storyboard import StoryboardInvalid, storyboard_parse
from pipeline.services import PipelineError, video_task_create


class Command(BaseCommand):
    help = "Create a task from a storyboard YAML file and queue it."

    def add_arguments(self, parser):
        parser.add_argument("storyboard", type=Path)
        parser.add_argument("--channel", help="channel id (default: the storyboard's channel)")
        parser.add_argument("--draft", action="store_true", help="create it in Draft, not queued")

    def handle(self, *args, storyboard, channel=None, draft=False, **options):
        try:
            text = storyboard.read_bytes()  # the parser checks its size and UTF-8
        except OSError as error:
            raise CommandError(f"{storyboard}: cannot read: {error.strerror}") from error
        try:
            board = storyboard_parse(text, source=str(storyboard))
        except StoryboardInvalid as invalid:
            raise CommandError("invalid storyboard:\n  " + "\n  ".join(invalid.errors)) from invalid
        channel_id = channel or board.get("channel")
        if not channel_id:
            raise CommandError(
                f"{storyboard}: channel: missing; name it in the file or with --channel"
            )
        found = Channel.objects.filter(pk=channel_id).first()
        if found is None:
            raise CommandError(self._unknown_channel(storyboard, channel_id, from_option=channel))
        try:
            task = video_task_create(
                channel=found, storyboard=board, actor="manage.py create_task", queue=not draft
            )
        except PipelineError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"created task {task.pk} ({task.get_status_display()}): {task.title}")
        self.stdout.write(f"follow it with: python manage.py task_status {task.pk} --follow")

    def _unknown_channel(self, storyboard, channel_id, *, from_option):
        """Name the file and the field (or the option), and the closest known channel."""
        where = "--channel" if from_option else f"{storyboard}: channel"
        known = list(Channel.objects.order_by("id").values_list("id", flat=True))
        close = difflib.get_close_matches(channel_id, known, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean {close[0]!r}?"
        elif known:
            hint = f"known channels: {', '.join(known[:20])}"
        else:
            hint = "no channels are loaded"
        return (
            f"{where}: unknown channel {channel_id!r}; {hint} (channels come from "
            "channel_configs/<id>.yaml, loaded by `manage.py sync_channels`)"
        )
