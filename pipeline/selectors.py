"""Reads about tasks, shared by commands, the admin and the Notion sync."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from costs.models import VideoCost
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.status import (
    DRAFT_STEP,
    ERROR_STATUSES,
    GATE_BY_STATUS,
    RUNNING_STATUSES,
    STEP_ORDER,
    Status,
)


def task_progress(task):
    """{step: (done, total)} for the steps that have work items, in pipeline order."""
    rows = (
        WorkItem.objects.filter(task=task)
        .values("step")
        .annotate(total=Count("id"), done=Count("id", filter=Q(state=WorkState.DONE)))
    )
    by_step = {row["step"]: (row["done"], row["total"]) for row in rows}
    return {step: by_step[step] for step in STEP_ORDER if step in by_step}


def task_waits_for_person(task):
    """Nothing moves without a person: in Draft, at final review or at an optional gate the
    channel has on, in an error column, published or cancelled. A gate the channel has off is a
    status the task passes through (Assets Ready on its way to composites), not a stop."""
    gate = GATE_BY_STATUS.get(Status(task.status))
    return bool(
        gate == "final"
        or (gate and gate in (task.channel.review_gates or []))
        or task.status in ERROR_STATUSES
        or task.status == Status.PUBLISHED
        or (task.status == Status.DRAFT and not task_being_drafted(task))
        or task.cancelled_at is not None
    )


def task_being_drafted(task):
    """A draft whose storyboard the writer is still drafting (its draft unit not yet done or
    failed): it moves on without a person (pipeline.drafting)."""
    return (
        task.status == Status.DRAFT
        and not task.storyboard
        and WorkItem.objects.filter(task=task, step=DRAFT_STEP)
        .filter(state__in=[WorkState.PENDING, WorkState.RUNNING])
        .exists()
    ) or (
        task.status == Status.DRAFT
        and task.queue_when_drafted
        and bool(task.storyboard)
        and not task.error_log  # drafted, about to be queued (a failure to queue is logged)
    )


def task_progress_fraction(task):
    progress = task_progress(task)
    done = sum(d for d, _ in progress.values())
    total = sum(t for _, t in progress.values())
    return done / total if total else 0.0


def task_cost(task):
    return VideoCost.objects.filter(task=task).aggregate(total=Sum("usd"))["total"] or Decimal(0)


def task_cost_breakdown(task):
    return list(
        VideoCost.objects.filter(task=task)
        .values("component", "provider", "outcome")
        .annotate(
            usd=Sum("usd"),
            would_be=Sum("would_be_usd"),
            units=Sum("units"),
            calls=Sum("api_calls"),
        )
        .order_by("component", "outcome")
    )


def tasks_stuck(*, now=None):
    """Tasks in production whose status has not moved and whose units have not progressed for
    PIPELINE_STUCK_MINUTES (waiting for budget or quota is not stuck): the reconciler alerts on
    them and the dashboard lists them."""
    limit = (now or timezone.now()) - dt.timedelta(minutes=settings.PIPELINE_STUCK_MINUTES)
    return (
        VideoTask.objects.filter(
            status__in=RUNNING_STATUSES,
            cancelled_at__isnull=True,
            status_changed_at__lt=limit,
            waiting_reason="",
        )
        .exclude(work_items__updated_at__gte=limit)
        .distinct()
        .order_by("status_changed_at")
    )
