import getpass

from django.core.management.base import BaseCommand, CommandError

from pipeline.integrations.youtube_reconcile import UploadSettleError, upload_settle
from pipeline.management.commands.task_status import load_task


class Command(BaseCommand):
    help = (
        "Settle a YouTube upload whose outcome is unknown, after looking on the channel for the "
        "video tagged with its marker: --video-id ID (it exists) or --not-uploaded (it does not; "
        "the next attempt uploads it again). Recorded in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("task_id")
        parser.add_argument("--video-id", dest="video_id", default=None)
        parser.add_argument("--not-uploaded", dest="not_uploaded", action="store_true")
        parser.add_argument("--actor", default=None, help="who settles it (default: OS user)")

    def handle(self, *args, task_id, video_id, not_uploaded, actor, **options):
        task = load_task(task_id)
        try:
            outcome = upload_settle(
                task_id=task.pk,
                actor=actor or f"{getpass.getuser()} (manage.py settle_upload)",
                video_id=video_id,
                not_uploaded=not_uploaded,
            )
        except UploadSettleError as error:
            raise CommandError(f"task {task.pk}: {error}") from error
        self.stdout.write(f"task {task.pk}: {outcome}")
