"""Changing a task's status: the only code that writes VideoTask.status.

Each change is a conditional UPDATE (WHERE status = <the status we expect>) so two workers, a
double click or a redelivered message cannot both move a task; the loser learns it with
`TransitionConflict`. Every change writes a TaskEvent and notifies listeners (the Notion sync)
after commit.
"""

from django.db import transaction
from django.utils import timezone

from pipeline.clock import now_expression
from pipeline.models import TaskEvent, VideoTask
from pipeline.status import IllegalTransition, Status, can_transition

_listeners = []
_change_listeners = []


class TransitionConflict(Exception):
    """The task was no longer in the expected status: someone else moved it first."""


def on_transition(listener):
    """Register listener(task_id, from_status, to_status), called after the commit."""
    _listeners.append(listener)
    return listener


def on_task_changed(listener):
    """Register listener(task_id), called after the commit of any change a board shows
    (status, progress, cost, error log)."""
    _change_listeners.append(listener)
    return listener


def notify_task_changed(task_id):
    """Tell listeners, after the current transaction commits, that a task's shown values moved."""
    transaction.on_commit(lambda: _notify_changed(task_id))


def _notify_changed(task_id):
    for listener in _change_listeners:
        listener(task_id)


def _notify(task_id, from_status, to_status):
    for listener in _listeners:
        listener(task_id, from_status, to_status)
    _notify_changed(task_id)


def task_transition(*, task, to, reason="", actor="system", expected=None, **fields):
    """Move `task` to status `to`, if it is still in `expected` (default: its current status).

    Raises IllegalTransition when the table does not allow the move, TransitionConflict when the
    task moved meanwhile. Extra keyword arguments are saved in the same UPDATE (e.g. error_log).
    Returns the task, refreshed.
    """
    source = Status(expected or task.status)
    target = Status(to)
    if not can_transition(source, target):
        raise IllegalTransition(task.pk, source, target)
    now = now_expression()  # the reconciler's grace is measured on the database's clock too
    with transaction.atomic():
        updated = VideoTask.objects.filter(pk=task.pk, status=source).update(
            status=target, status_changed_at=now, updated_at=now, **fields
        )
        if updated != 1:
            current = VideoTask.objects.filter(pk=task.pk).values_list("status", flat=True).first()
            raise TransitionConflict(
                f"task {task.pk}: expected status {source}, found {current}; "
                f"the move to {target} was not made"
            )
        TaskEvent.objects.create(
            task_id=task.pk, from_status=source, to_status=target, reason=reason[:5000], actor=actor
        )
        transaction.on_commit(lambda: _notify(task.pk, source, target))
    task.refresh_from_db()
    return task


def error_log_append(existing, message):
    """A task's Error Log with one more stamped line (the newest 20,000 characters are kept)."""
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S UTC")
    text = f"{existing}\n[{stamp}] {message}".strip()
    return text[-20_000:]
