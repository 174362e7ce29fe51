"""What an operator does to a task (queue a draft, retry from an error column, cancel), through the
admin, the commands and the Notion board alike: one service each, every one a transition in the
one table (pipeline.transitions) with its audit row."""

import structlog
from django.db import transaction
from django.utils import timezone

from core.text.storyboard import StoryboardInvalid, storyboard_validate
from pipeline import dispatch
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.services import PipelineError
from pipeline.status import (
    ERROR_STATUSES,
    STEP_ORDER,
    STEP_STATUSES,
    Status,
)
from pipeline.transitions import TransitionConflict, notify_task_changed, task_transition

log = structlog.get_logger(__name__)

S = Status


def task_queue(*, task_id, actor, storyboard=None):
    """Draft -> Queued: a person decided the draft's storyboard is ready to produce, as it is now
    (edits included; `storyboard`, when given, replaces the task's own, e.g. the one edited on
    its Notion card). Returns (task, queued): queued is False when the task was already queued
    (a double click, a card seen twice), and nothing is done the second time. Anything but a
    draft is refused naming its status, and so is a draft whose storyboard is missing or invalid.
    """
    from core.audit import audit_log_record

    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    if task.cancelled_at:
        raise PipelineError(f"task {task.pk} is cancelled; it cannot be queued")
    if task.status in ERROR_STATUSES:
        raise PipelineError(
            f"task {task.pk} is in {task.get_status_display()}, not Draft: only a draft can be "
            "queued (a task in an error status is sent back with retry_task)"
        )
    if task.status != S.DRAFT:
        return task, False  # queued before, and maybe on its way since: nothing to do

    if not task.channel.is_active:
        raise PipelineError(f"channel {task.channel_id} is inactive; activate it in its YAML first")
    source = f"task {task.pk}: storyboard"
    replaced = {}
    try:
        checked = storyboard_validate(storyboard or task.storyboard or None, source=source)
        if storyboard is not None:
            replaced = {"storyboard": checked, "title": checked["title"][:200]}
    except StoryboardInvalid as invalid:
        raise PipelineError(
            "the draft's storyboard is not ready, so it was not queued:\n" + str(invalid)
        ) from None
    with transaction.atomic():
        try:
            task = task_transition(
                task=task,
                to=S.QUEUED,
                expected=S.DRAFT,
                reason="queued",
                actor=str(actor),
                **replaced,
            )
        except TransitionConflict:
            task.refresh_from_db()
            if task.status == S.QUEUED:
                return task, False  # queued by someone else a moment ago
            raise
        audit_log_record(actor=actor, action="task_queue", task=task)
        dispatch.dispatch_schedule()
    return task, True


def task_retry(*, task_id, actor, notes=""):
    """Send a task in an error status back to the step that failed; work done is kept. `notes`
    (e.g. "via Notion: ...") go into the timeline's reason and the audit row."""
    from core.audit import audit_log_record

    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    if task.status == S.DRAFT:
        raise PipelineError(
            f"task {task.pk} is a draft, not in an error status: queue it instead "
            f"(`python manage.py queue_task {task.pk}`, or Queue on its admin page)"
        )
    if task.status not in ERROR_STATUSES:
        raise PipelineError(
            f"task {task.pk} is {task.status}, not in an error status: nothing to retry"
        )
    step = task.failed_step or _default_step_for_error(task.status)
    running = STEP_STATUSES[step][0]
    with transaction.atomic():
        task_transition(
            task=task,
            to=running,
            expected=task.status,
            reason=f"retry: {notes}" if notes else "retry",
            actor=str(actor),
            next_attempt_at=None,
            waiting_reason="",
        )
        later_steps = STEP_ORDER[STEP_ORDER.index(step) :]
        WorkItem.objects.filter(task=task, step__in=later_steps, state=WorkState.FAILED).new_round()
        audit_log_record(
            actor=actor, action="task_retry", task=task, notes=notes, metadata={"step": step}
        )
        dispatch.dispatch_step(task.pk, step)
    return task


def _default_step_for_error(status):
    return {
        S.ASSET_ERROR: "assets",
        S.VIDEO_ERROR: "videos",
        S.AUDIO_ERROR: "audio",
        S.UPLOAD_ERROR: "upload",
    }[S(status)]


def task_cancel(*, task_id, actor, reason=""):
    """Take a task off the board. Nothing is deleted; running scripts stop at their next
    heartbeat (their lease can no longer be renewed)."""
    from core.audit import audit_log_record

    with transaction.atomic():
        updated = VideoTask.objects.filter(pk=task_id, cancelled_at__isnull=True).update(
            cancelled_at=timezone.now()
        )
        if not updated:
            raise PipelineError(f"task {task_id} is already cancelled")
        task = VideoTask.objects.get(pk=task_id)
        if task.status == S.PUBLISHED:
            raise PipelineError(f"task {task_id} is published; it cannot be cancelled")
        audit_log_record(actor=actor, action="task_cancel", task=task, notes=reason)
        notify_task_changed(task.pk)  # the board archives its card
        dispatch.dispatch_schedule()
    return task
