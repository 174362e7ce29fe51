"""Sending pipeline messages, always after the current transaction commits (a worker must never
receive an id whose row it cannot see yet). The reconciler covers a crash between the commit and
the send."""

from django.db import transaction


def _after_commit(send):
    transaction.on_commit(send)


def dispatch_schedule():
    from pipeline import tasks

    _after_commit(lambda: tasks.schedule.apply_async())


def dispatch_start(task_id):
    from pipeline import tasks

    _after_commit(lambda: tasks.start_task.apply_async(args=[str(task_id)]))


def dispatch_step(task_id, step):
    from pipeline import tasks

    _after_commit(lambda: tasks.run_step.apply_async(args=[str(task_id), step]))


def dispatch_unit(item_id, countdown=None):
    from django.conf import settings

    from pipeline import tasks

    # The limits a unit runs under travel in its message; name them here, from this process's
    # settings, rather than from whatever the task object bound when it was first loaded.
    limits = {
        "time_limit": settings.CELERY_TASK_TIME_LIMIT,
        "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
    }
    label = _unit_label(item_id)
    _after_commit(
        lambda: tasks.run_unit.apply_async(
            args=[item_id], countdown=countdown, argsrepr=label, **limits
        )
    )


def _unit_label(item_id):
    """How a unit's message reads in Flower and worker logs: its video, step and unit. Only the
    display changes (argsrepr); the message still carries just the id."""
    from pipeline.models import WorkItem

    row = WorkItem.objects.filter(pk=item_id).values_list("task_id", "step", "unit").first()
    if row is None:
        return None
    task_id, step, unit = row
    return f"item={item_id} video={task_id} step={step} unit={unit}"


def dispatch_advance(task_id):
    from pipeline import tasks

    _after_commit(lambda: tasks.advance_task.apply_async(args=[str(task_id)]))
