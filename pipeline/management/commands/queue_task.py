from django.core.management.base import BaseCommand, CommandError

from pipeline.management.commands.task_status import load_task
from pipeline.services import PipelineError
from pipeline.task_actions import task_queue
from pipeline.transitions import TransitionConflict


class Command(BaseCommand):
    help = "Queue a draft (Draft -> Queued): its storyboard, as it is now, goes into production."

    def add_arguments(self, parser):
        parser.add_argument("task_id")
        parser.add_argument("--actor", default="manage.py")

    def handle(self, *args, task_id, actor, **options):
        task = load_task(task_id)
        try:
            task, queued = task_queue(task_id=task.pk, actor=actor)
        except (PipelineError, TransitionConflict) as error:
            raise CommandError(str(error)) from error
        if queued:
            self.stdout.write(f"task {task.pk} is queued; a worker starts it when there is room")
        else:
            self.stdout.write(
                f"task {task.pk} was already queued (now {task.get_status_display()}); "
                "nothing to do"
            )
