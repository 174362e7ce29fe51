import difflib

from django.core.management.base import BaseCommand, CommandError

from channels_app.models import Channel, Priority
from pipeline.drafting import draft_retry, task_draft_create
from pipeline.management.commands.task_status import load_task
from pipeline.services import PipelineError


class Command(BaseCommand):
    help = (
        "Start a video from a topic: a task in Draft whose storyboard the writer drafts "
        "(scripts/generate_storyboard.py). With --queue it is queued as soon as the draft is "
        "written; otherwise review it (admin, its Notion card) and queue it with queue_task."
    )

    def add_arguments(self, parser):
        parser.add_argument("--channel", help="channel id")
        parser.add_argument("--topic", help="what the video is about")
        parser.add_argument("--direction", default="", help="the story direction (optional)")
        parser.add_argument(
            "--scenes", type=int, default=None, help="4-18 (default: the channel brief's)"
        )
        parser.add_argument("--priority", choices=Priority.values, default=None)
        parser.add_argument("--queue", action="store_true", help="queue it once drafted")
        parser.add_argument("--actor", default="manage.py draft_task")
        parser.add_argument(
            "--retry", metavar="TASK_ID", help="draft again a draft whose writer failed"
        )

    def handle(self, *args, channel, topic, direction, scenes, priority, queue, actor, **options):
        if options["retry"]:
            return self._retry(options["retry"], actor)
        missing = [
            f"{flag}: {why}"
            for flag, value, why in (
                ("--channel", channel, "which channel the video is for (its id)"),
                ("--topic", topic, "what the video is about (not empty)"),
            )
            if not (value or "").strip()
        ]
        if missing:
            raise CommandError("; ".join(missing) + " (or --retry TASK_ID to draft again)")
        found = Channel.objects.filter(pk=channel).first()
        if found is None:
            known = list(Channel.objects.order_by("id").values_list("id", flat=True))
            close = difflib.get_close_matches(channel, known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(known)}"
            raise CommandError(f"--channel: no channel '{channel}'{hint}")
        try:
            task = task_draft_create(
                channel=found,
                topic=topic,
                direction=direction,
                scenes=scenes,
                priority=priority,
                queue=queue,
                actor=actor,
            )
        except PipelineError as error:
            raise CommandError(str(error)) from error
        then = "then queued" if queue else "then it waits in Draft for you to queue it"
        self.stdout.write(f"created draft {task.pk}: the writer drafts its storyboard, {then}")
        self.stdout.write(f"follow it with: python manage.py task_status {task.pk} --follow")

    def _retry(self, task_id, actor):
        task = load_task(task_id)
        try:
            draft_retry(task_id=task.pk, actor=actor)
        except PipelineError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"draft {task.pk}: the writer drafts its storyboard again")
