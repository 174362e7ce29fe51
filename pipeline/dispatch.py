"""Sending pipeline messages, always after the current transaction commits (a worker must never
receive an id whose row it cannot see yet). The reconciler covers a crash between the commit and
the send.

Messages are sent by task name: the Celery tasks (pipeline/tasks.py) are entry points above the
core and call into it, so the core names them instead of importing them."""

from celery import current_app
from django.conf import settings
from django.db import transaction

from pipeline.models import WorkItem

SCHEDULE = "pipeline.schedule"
START_TASK = "pipeline.start_task"
RUN_STEP = "pipeline.run_step"
RUN_UNIT = "pipeline.run_unit"
ADVANCE_TASK = "pipeline.advance_task"


def _send_after_commit(name, args=(), **options):
    transaction.on_commit(lambda: current_app.send_task(name, args=list(args), **options))


def dispatch_schedule():
    _send_after_commit(SCHEDULE)


def dispatch_start(task_id):
    _send_after_commit(START_TASK, [str(task_id)])


def dispatch_step(task_id, step):
    _send_after_commit(RUN_STEP, [str(task_id), step])


def dispatch_unit(item_id, countdown=None):
    # The limits a unit runs under travel in its message; name them here, from this process's
    # settings, rather than from whatever the task object bound when it was first loaded.
    limits = {
        "time_limit": settings.CELERY_TASK_TIME_LIMIT,
        "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
    }
    label = _unit_label(item_id)
    _send_after_commit(RUN_UNIT, [item_id], countdown=countdown, argsrepr=label, **limits)


def _unit_label(item_id):
    """How a unit's message reads in Flower and worker logs: its video, step and unit. Only the
    display changes (argsrepr); the message still carries just the id."""
    row = WorkItem.objects.filter(pk=item_id).values_list("task_id", "step", "unit").first()
    if row is None:
        return None
    task_id, step, unit = row
    return f"item={item_id} video={task_id} step={step} unit={unit}"


def dispatch_advance(task_id):
    _send_after_commit(ADVANCE_TASK, [str(task_id)])
