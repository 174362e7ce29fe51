"""The reconciler (django-celery-beat, every minute): PostgreSQL is the source of truth, so any
message the broker lost (Redis restarted without persistence, a crash between commit and send, a
worker killed with its message unacknowledged) is sent again from the database. Sending twice is
harmless: every receiver claims its work with a conditional UPDATE. Safe to run twice at once."""

import datetime as dt

import structlog
from django.conf import settings
from django.db.models import Q

from core.alerts import alert_send
from pipeline import dispatch, drafting, limits, services
from pipeline.clock import db_now
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.selectors import tasks_stuck
from pipeline.status import (
    DRAFT_STEP,
    GATE_BY_STATUS,
    STEP_STATUSES,
    UNIT_RUNNING_STATUS,
    Status,
)
from pipeline.workers import units_take_back_from_lost_workers

log = structlog.get_logger(__name__)
S = Status
RUNNING_BY_STEP = {step: running for step, (running, _, _) in STEP_STATUSES.items()}
STEP_BY_RUNNING = {running: step for step, running in RUNNING_BY_STEP.items()}


def _grace():
    """A pending unit, or a task in a passing status, this old lost the message that moves it."""
    return dt.timedelta(seconds=settings.PIPELINE_RECONCILE_GRACE_SECONDS)


def pipeline_reconcile(*, now=None):
    now = now or db_now()
    report = {
        "lost_workers": units_take_back_from_lost_workers(now=now),
        "expired_leases": _redispatch_expired_leases(now),
        "lost_units": _redispatch_lost_units(now),
        "steps": _redispatch_steps(now),
        "advances": _redispatch_advances(now),
        "starts": _redispatch_starts(now),
        "stuck": _report_stuck(now),
        "slot_lines": limits.slots_grant_all(),
    }
    report["scheduled"] = len(services.tasks_schedule())
    if any(report.values()):
        log.info("reconciled", **report)
    return report


def _live_items():
    return WorkItem.objects.filter(task__cancelled_at__isnull=True).select_related("task")


def _in_running_step(item):
    return item.task.status == UNIT_RUNNING_STATUS[item.step]


def _redispatch_expired_leases(now):
    expired = _live_items().filter(state=WorkState.RUNNING, lease_expires_at__lt=now)
    return _redispatch_units(expired)


def _redispatch_lost_units(now):
    """Pending units nobody sent for a while; not those waiting in a provider's line (their grant
    sends them)."""
    due = _live_items().filter(
        Q(next_attempt_at__isnull=True, updated_at__lt=now - _grace())
        | Q(next_attempt_at__lt=now - _grace()),
        state=WorkState.PENDING,
        waiter__isnull=True,
    )
    return _redispatch_units(due)


def _redispatch_units(items):
    """Send again the units whose task is still in their step; how many were sent. A draft goes
    through drafting.draft_start, which checks the channel's budget first (a production step's
    budget is checked when the step fans out)."""
    count = 0
    for item in items:
        if _in_running_step(item):
            if item.step == DRAFT_STEP:
                drafting.draft_start(item.task)
            else:
                dispatch.dispatch_unit(item.pk)
            count += 1
    return count


def _redispatch_steps(now):
    """Tasks in a step's running status whose fan-out was lost, or whose wait (budget) is over."""
    count = 0
    tasks = VideoTask.objects.filter(status__in=list(STEP_BY_RUNNING), cancelled_at__isnull=True)
    for task in tasks:
        step = STEP_BY_RUNNING[S(task.status)]
        if task.next_attempt_at:
            if task.next_attempt_at <= now:
                VideoTask.objects.filter(pk=task.pk, next_attempt_at=task.next_attempt_at).update(
                    next_attempt_at=None
                )
                dispatch.dispatch_step(task.pk, step)
                count += 1
            continue
        if task.status_changed_at > now - _grace():
            continue
        items = WorkItem.objects.filter(task=task, step=step)
        if not items.exists() or not items.exclude(state=WorkState.DONE).exists():
            # Never fanned out, or every unit done but the step was not completed.
            dispatch.dispatch_step(task.pk, step)
            count += 1
    return count


def _redispatch_advances(now):
    """Tasks at a done status or a passed gate whose move to the next step was lost."""
    count = 0
    transient = [
        S.ASSETS_APPROVED,
        S.COMPOSITES_READY,
        S.VIDEO_APPROVED,
        S.AUDIO_APPROVED,
        S.SFX_READY,
        S.ASSEMBLY_READY,
        S.APPROVED,
    ]
    gates_off = [S.ASSETS_READY, S.VIDEO_READY, S.AUDIO_READY]
    tasks = VideoTask.objects.filter(
        status__in=transient + gates_off,
        cancelled_at__isnull=True,
        status_changed_at__lt=now - _grace(),
    ).select_related("channel")
    for task in tasks:
        if task.waiting_reason and task.next_attempt_at and task.next_attempt_at > now:
            continue  # deferred (quota) until its time
        gate = GATE_BY_STATUS.get(S(task.status))
        if gate and gate in (task.channel.review_gates or []):
            continue  # waiting for a reviewer, as it should
        dispatch.dispatch_advance(task.pk)
        count += 1
    return count


def _redispatch_starts(now):
    count = 0
    for task in VideoTask.objects.filter(
        status=S.CLAIMED, cancelled_at__isnull=True, status_changed_at__lt=now - _grace()
    ):
        dispatch.dispatch_start(task.pk)
        count += 1
    return count


def _report_stuck(now):
    """A card that stays is a problem: one WARNING per task and status (tasks_stuck)."""
    count = 0
    for task in tasks_stuck(now=now):
        count += 1
        alert_send(
            level="WARNING",
            title=f"{task.channel_id}: '{task.title}' is stuck in {task.get_status_display()}",
            message=f"No progress since {task.status_changed_at:%Y-%m-%d %H:%M} UTC. "
            f"Check `manage.py task_status {task.pk}`.",
            key=f"stuck:{task.pk}:{task.status}",
        )
    return count
