"""What waits for a person: the one queue of reviews, drafts to queue, stopped tasks and tasks
held by budget or quota, its counts for the navigation, and why each task waits."""

from django.db.models import Count, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from channels_app.models import Channel
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.selectors import task_cost_subquery
from pipeline.status import (
    DRAFT_STEP,
    ERROR_STATUSES,
    GATE_STATUSES,
    GATES,
    OPTIONAL_GATES,
    Status,
)
from reviews.models import Decision, Review


def _at_a_gate():
    """The filter of tasks waiting for a reviewer. An optional gate's status counts only for
    channels that have the gate on (with it off, the task only passes through it); final review
    always counts."""
    channels_by_gate = {gate: [] for gate in OPTIONAL_GATES}
    # review_gates is a JSON list; filtered here rather than with __contains, which SQLite (the
    # embedded default) does not support. There are tens of channels, not thousands.
    for channel_id, gates in Channel.objects.values_list("id", "review_gates"):
        for gate in gates or []:
            if gate in channels_by_gate:
                channels_by_gate[gate].append(channel_id)
    waiting = Q(status=Status.FINAL_REVIEW)
    for gate, channel_ids in channels_by_gate.items():
        if channel_ids:
            waiting |= Q(status=GATES[gate][0], channel_id__in=channel_ids)
    return waiting


# What a task can be waiting for a person for, in the queue's words.
WAIT_REVIEW, WAIT_DRAFT, WAIT_STOPPED, WAIT_HELD = "review", "draft", "stopped", "held"
WAIT_LABELS = {
    WAIT_REVIEW: "to review",
    WAIT_DRAFT: "draft to queue",
    WAIT_STOPPED: "stopped",
    WAIT_HELD: "held",
}
# A task waits for the channel's budget or YouTube's quota until someone raises the budget or the
# quota resets: shown, so nobody wonders why it does not move.
HELD_REASONS = ("budget", "quota")


def _draft_failed():
    return Exists(
        WorkItem.objects.filter(task=OuterRef("pk"), step=DRAFT_STEP, state=WorkState.FAILED)
    )


# A draft waits for a person once it is written (to be read and queued) or its writer failed.
DRAFTED = Q(status=Status.DRAFT) & (~Q(storyboard={}) | Q(draft_failed=True))
STOPPED = Q(status__in=ERROR_STATUSES)
HELD = Q(waiting_reason__in=HELD_REASONS)


def _waiting_filter():
    """Everything that waits for a person: a gate, a written draft (or one whose writer failed),
    a task stopped in an error column, a task held by budget or quota."""
    return _at_a_gate() | DRAFTED | STOPPED | HELD


def waiting_queue():
    """Every task waiting for a person, oldest wait first, each with its cost so far, its
    number of final rejections and whether its writer failed."""
    rejections = (
        Review.objects.filter(task=OuterRef("pk"), gate="final", decision=Decision.REJECTED)
        .order_by()
        .values("task")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        VideoTask.objects.annotate(draft_failed=_draft_failed())
        .filter(_waiting_filter(), cancelled_at__isnull=True)
        .select_related("channel")
        .annotate(
            cost_usd=task_cost_subquery(),
            rejections=Coalesce(Subquery(rejections), Value(0)),
        )
        .order_by("status_changed_at", "created_at")
    )


def waiting_kind(task):
    """Why a task waits for a person (WAIT_REVIEW, ...), or "" when it does not."""
    if task.cancelled_at:
        return ""
    if task.status in GATE_STATUSES:
        return WAIT_REVIEW
    if task.status == Status.DRAFT and (task.storyboard or draft_failed(task)):
        return WAIT_DRAFT
    if task.status in ERROR_STATUSES:
        return WAIT_STOPPED
    if task.waiting_reason in HELD_REASONS:
        return WAIT_HELD
    return ""


def draft_failed(task):
    """Whether the writer of a draft failed (read from the queue's annotation when present)."""
    if hasattr(task, "draft_failed"):
        return task.draft_failed
    return WorkItem.objects.filter(task=task, step=DRAFT_STEP, state=WorkState.FAILED).exists()


def waiting_counts():
    """{kind: count} of the queue, and "total": one query (plus the channels' gates)."""
    counts = (
        VideoTask.objects.annotate(draft_failed=_draft_failed())
        .filter(_waiting_filter(), cancelled_at__isnull=True)
        .aggregate(
            review=Count("id", filter=Q(status__in=GATE_STATUSES)),
            draft=Count("id", filter=DRAFTED),
            stopped=Count("id", filter=STOPPED),
            total=Count("id"),
        )
    )
    counts[WAIT_HELD] = counts["total"] - counts["review"] - counts["draft"] - counts["stopped"]
    return counts


def last_line(text):
    """The latest entry of an error log: its last line, leaving out the "Next: ..." hint a
    notes-only rejection adds after the reviewer's words."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Next: ")] or lines
    return lines[-1] if lines else ""


def stopped_by_rejection(task):
    """The reviewer's words when a task is stopped by a notes-only rejection, else ""."""
    event = task.events.order_by("-created_at").first()
    if event and event.to_status == task.status and event.reason.startswith("rejected at "):
        return event.reason
    return ""
