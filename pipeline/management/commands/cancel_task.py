from django.core.management.base import BaseCommand, CommandError

from pipeline.management.commands.task_status import load_task
from pipeline.services import PipelineError
from pipeline.task_actions import task_cancel


class Command(BaseCommand):
    help = "Cancel a task: off the board, running scripts stopped, records kept."

    def add_arguments(self, parser):
        parser.add_argument("task_id")
        parser.add_argument("--actor", default="manage.py")
        parser.add_argument("--reason", default="")

    def handle(self, *args, task_id, actor, reason, **options):
        task = load_task(task_id)
        try:
            task_cancel(task_id=task.pk, actor=actor, reason=reason)
        except PipelineError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"task {task.pk} cancelled")
