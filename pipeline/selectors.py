"""Reads about tasks, shared by commands, the admin, the review pages, the control room
(dashboard) and the Notion sync."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, Max, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from costs.models import VideoCost
from pipeline import paths
from pipeline.models import (
    LOCAL_VIDEO_ID_PREFIX,
    TaskEvent,
    Upload,
    Video,
    VideoTask,
    WorkItem,
    WorkState,
)
from pipeline.status import (
    DRAFT_STEP,
    ERROR_STATUSES,
    GATE_BY_STATUS,
    LIFECYCLE_GROUPS,
    RUNNING_STATUSES,
    STEP_ORDER,
    WORK_STEPS,
    Status,
    lifecycle_group,
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


# --- Task lists and pages (the admin, the review pages) -------------------------------------

MONEY = DecimalField(max_digits=12, decimal_places=4)


def task_cost_subquery():
    """A task's spend so far, as an annotation (one subquery; no join that multiplies rows)."""
    total = (
        VideoCost.objects.filter(task=OuterRef("pk"))
        .order_by()
        .values("task")
        .annotate(total=Sum("usd"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=MONEY), Value(Decimal(0)), output_field=MONEY)


def tasks_progress(task_ids):
    """{task_id: {step: (done, total)}} for many tasks in one grouped query."""
    rows = (
        WorkItem.objects.filter(task_id__in=list(task_ids))
        .order_by()
        .values("task_id", "step")
        .annotate(total=Count("id"), done=Count("id", filter=Q(state=WorkState.DONE)))
    )
    by_task = {}
    for row in rows:
        by_task.setdefault(row["task_id"], {})[row["step"]] = (row["done"], row["total"])
    return {
        task_id: {step: steps[step] for step in STEP_ORDER if step in steps}
        for task_id, steps in by_task.items()
    }


def media_url(path):
    """The media view's URL of a workspace file, or "" when it is missing or outside."""
    try:
        resolved = paths.ensure_inside_workspace(path)
    except paths.UnsafePath:
        return ""
    if not resolved.is_file():
        return ""
    relative = resolved.relative_to(paths.workspace_root()).as_posix()
    return reverse("media", kwargs={"relative": relative})


def published_link(task):
    """(label, url) of the published video: YouTube's page, or the local upload provider's file
    in the workspace; None before it is published."""
    video = Video.objects.filter(task=task).first()
    if video is not None and video.youtube_url.startswith("http"):
        return ("YouTube", video.youtube_url)
    upload = Upload.objects.filter(task=task).exclude(video_id="").first()
    if upload is not None and not upload.video_id.startswith(LOCAL_VIDEO_ID_PREFIX):
        return ("YouTube", f"https://youtu.be/{upload.video_id}")
    url = media_url(paths.published_video(task.channel_id, str(task.pk)))
    return ("published file (local upload provider)", url) if url else None


def uploads_waiting_for_quota():
    """{quota project: tasks approved and waiting for the next quota reset} (the quota screen)."""
    return dict(
        VideoTask.objects.filter(
            status=Status.APPROVED, waiting_reason="quota", cancelled_at__isnull=True
        )
        .order_by()
        .values("channel__quota_project")
        .annotate(count=Count("id"))
        .values_list("channel__quota_project", "count")
    )


# --- Dashboard (the control room) ------------------------------------------------------------

GROUP_ORDER = list(LIFECYCLE_GROUPS)


def videos_by_group(channels):
    """{channel_id: {group: count}} of the tasks on the board (not cancelled)."""
    counts = {channel.pk: dict.fromkeys(GROUP_ORDER, 0) for channel in channels}
    rows = (
        VideoTask.objects.filter(cancelled_at__isnull=True)
        .order_by()
        .values("channel_id", "status")
        .annotate(count=Count("id"))
    )
    for row in rows:
        if row["channel_id"] in counts:
            counts[row["channel_id"]][lifecycle_group(row["status"])] += row["count"]
    return counts


def recent_failures(*, now=None, hours=24):
    """Moves into an error status in the last `hours` hours, newest first."""
    since = (now or timezone.now()) - dt.timedelta(hours=hours)
    return (
        TaskEvent.objects.filter(to_status__in=ERROR_STATUSES, created_at__gte=since)
        .select_related("task__channel")
        .order_by("-created_at")
    )


@dataclass
class StepStats:
    """One channel's one step over the last days: units done and failed, attempts and retries,
    and the step's duration per video (first unit started to last unit finished)."""

    channel_id: str
    step: str
    done: int = 0
    failed: int = 0
    attempts: int = 0
    retries: int = 0
    durations: list = field(default_factory=list)  # seconds, one per video

    @property
    def success_rate(self):
        finished = self.done + self.failed
        return self.done / finished if finished else None

    @property
    def retry_rate(self):
        return self.retries / self.attempts if self.attempts else None

    def _percentile(self, fraction):
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    @property
    def median_seconds(self):
        return self._percentile(0.5)

    @property
    def p95_seconds(self):
        return self._percentile(0.95)


def step_stats(*, days=7, now=None):
    """{channel_id: [StepStats in step order, drafting first]} for the units that ran in the last
    `days` days.
    One grouped query (per video and step, summed in SQL); the rows are videos x steps, never
    units or cost rows."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    rows = (
        WorkItem.objects.filter(started_at__gte=since)
        .order_by()
        .values("task__channel_id", "task_id", "step")
        .annotate(
            done=Count("id", filter=Q(state="done")),
            failed=Count("id", filter=Q(state="failed")),
            attempts=Sum("attempts"),
            first_start=Min("started_at"),
            last_finish=Max("finished_at"),
            units=Count("id"),
        )
    )
    stats = {}
    for row in rows:
        key = (row["task__channel_id"], row["step"])
        entry = stats.setdefault(key, StepStats(*key))
        entry.done += row["done"]
        entry.failed += row["failed"]
        entry.attempts += row["attempts"] or 0
        entry.retries += max((row["attempts"] or 0) - row["units"], 0)
        if row["done"] == row["units"] and row["last_finish"]:
            entry.durations.append((row["last_finish"] - row["first_start"]).total_seconds())
    by_channel = {}
    for entry in sorted(
        stats.values(), key=lambda entry: (entry.channel_id, WORK_STEPS.index(entry.step))
    ):
        by_channel.setdefault(entry.channel_id, []).append(entry)
    return by_channel
