from django.core.management.base import BaseCommand, CommandError

from pipeline.management.commands.task_status import load_task
from pipeline.services import PipelineError
from pipeline.task_actions import task_retry


class Command(BaseCommand):
    help = "Send a task in an error status back to the step that failed (work done is kept)."

    def add_arguments(self, parser):
        parser.add_argument("task_id")
        parser.add_argument("--actor", default="manage.py")

    def handle(self, *args, task_id, actor, **options):
        task = load_task(task_id)
        try:
            task = task_retry(task_id=task.pk, actor=actor)
        except PipelineError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"task {task.pk} is back in {task.get_status_display()}")
