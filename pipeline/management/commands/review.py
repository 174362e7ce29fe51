from django.core.management.base import BaseCommand, CommandError

from pipeline.management.commands.task_status import load_task
from pipeline.reviewing import ReviewError, review_approve, review_reject, task_redo
from pipeline.status import ERROR_STATUSES

PAST = {"approve": "approved", "reject": "rejected", "redo": "redo sent"}


class Command(BaseCommand):
    help = (
        "Approve or reject a task waiting at a review gate; `redo` sends a task stopped after a "
        "notes-only rejection (or a failure) back into production from a step."
    )

    def add_arguments(self, parser):
        parser.add_argument("decision", choices=["approve", "reject", "redo"])
        parser.add_argument("task_id")
        parser.add_argument(
            "--reviewer", required=True, help="who decides (recorded in the audit log)"
        )
        parser.add_argument("--notes", default="")
        parser.add_argument(
            "--redo-step",
            default="",
            help="reject/redo: the step to make again from (reject without it: notes only, the "
            "task stops in its error column for a person to pick what next)",
        )
        parser.add_argument(
            "--redo",
            default="",
            help="reject/redo: comma-separated scene (or asset) ids to make again; none: the "
            "whole step, every scene",
        )

    def handle(self, *args, decision, task_id, reviewer, notes, redo_step, redo, **options):
        task = load_task(task_id)
        units = [unit.strip() for unit in redo.split(",") if unit.strip()]
        try:
            if decision == "approve":
                review_approve(task_id=task.pk, reviewer_name=reviewer, notes=notes)
            elif decision == "reject":
                review_reject(
                    task_id=task.pk,
                    reviewer_name=reviewer,
                    notes=notes,
                    redo_step=redo_step,
                    redo_scenes=units,
                )
            else:
                if not redo_step:
                    raise CommandError("redo: name the step to redo from with --redo-step")
                task_redo(task_id=task.pk, actor=reviewer, step=redo_step, units=units, notes=notes)
        except ReviewError as error:
            raise CommandError(str(error)) from error
        task.refresh_from_db()
        self.stdout.write(f"{PAST[decision]}: task {task.pk} is now {task.get_status_display()}")
        if task.status in ERROR_STATUSES:
            self.stdout.write(
                "next: redo from a step, e.g.\n"
                f"  manage.py review redo {task.pk} --reviewer {reviewer} --redo-step videos "
                "[--redo s01,s02]\n"
                f"or cancel it: manage.py cancel_task {task.pk}\n"
                f"(or on the review page: /admin/review/{task.pk}/)"
            )
