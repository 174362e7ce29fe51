from django.core.management.base import BaseCommand, CommandError

from pipeline.management.commands.task_status import load_task
from pipeline.reviewing import ReviewError, review_approve, review_reject


class Command(BaseCommand):
    help = "Approve or reject a task waiting at a review gate."

    def add_arguments(self, parser):
        parser.add_argument("decision", choices=["approve", "reject"])
        parser.add_argument("task_id")
        parser.add_argument(
            "--reviewer", required=True, help="who decides (recorded in the audit log)"
        )
        parser.add_argument("--notes", default="")
        parser.add_argument("--redo-step", default="", help="reject: the step to redo from")
        parser.add_argument(
            "--redo", default="", help="reject: comma-separated scene (or asset) ids to redo"
        )

    def handle(self, *args, decision, task_id, reviewer, notes, redo_step, redo, **options):
        task = load_task(task_id)
        try:
            if decision == "approve":
                review_approve(task_id=task.pk, reviewer_name=reviewer, notes=notes)
            else:
                scenes = [s.strip() for s in redo.split(",") if s.strip()]
                review_reject(
                    task_id=task.pk,
                    reviewer_name=reviewer,
                    notes=notes,
                    redo_step=redo_step,
                    redo_scenes=scenes,
                )
        except ReviewError as error:
            raise CommandError(str(error)) from error
        task.refresh_from_db()
        self.stdout.write(f"{decision}d: task {task.pk} is now {task.get_status_display()}")
