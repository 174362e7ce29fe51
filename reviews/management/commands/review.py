import getpass
import socket

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from pipeline.management.commands.task_status import load_task
from pipeline.status import ERROR_STATUSES
from reviews.decisions import review_approve, review_reject, task_redo
from reviews.reviewer_checks import VIA_COMMAND_LINE, ReviewError, reviewer_check

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
            "--as",
            dest="as_user",
            required=True,
            metavar="USERNAME",
            help="who decides: an active user with the review permission (the audit row also "
            "records your OS user and this host)",
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

    def handle(self, *args, decision, task_id, as_user, notes, redo_step, redo, **options):
        task = load_task(task_id)
        units = [unit.strip() for unit in redo.split(",") if unit.strip()]
        reviewer = get_user_model().objects.filter(username=as_user).first()
        if reviewer is None:
            raise CommandError(f"--as {as_user}: no such user; nothing was recorded")
        origin = {"os_user": getpass.getuser(), "host": socket.gethostname()}
        decided = {"reviewer": reviewer, "notes": notes, "via": VIA_COMMAND_LINE, "origin": origin}
        try:
            if decision == "approve":
                review_approve(task_id=task.pk, **decided)
            elif decision == "reject":
                review_reject(task_id=task.pk, redo_step=redo_step, redo_scenes=units, **decided)
            else:
                if not redo_step:
                    raise CommandError("redo: name the step to redo from with --redo-step")
                reviewer_check(reviewer)
                task_redo(task_id=task.pk, actor=reviewer, step=redo_step, units=units, notes=notes)
        except ReviewError as error:
            raise CommandError(str(error)) from error
        task.refresh_from_db()
        self.stdout.write(f"{PAST[decision]}: task {task.pk} is now {task.get_status_display()}")
        if task.status in ERROR_STATUSES:
            self.stdout.write(
                "next: redo from a step, e.g.\n"
                f"  manage.py review redo {task.pk} --as {as_user} --redo-step videos "
                "[--redo s01,s02]\n"
                f"or cancel it: manage.py cancel_task {task.pk}\n"
                f"(or on the review page: /admin/review/{task.pk}/)"
            )
