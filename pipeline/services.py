"""The pipeline's business logic, as plain functions. Celery tasks (pipeline/tasks.py) load ids
and call these; so do management commands and the admin.

The shape of one video's run (each step resumable after any crash, nothing paid twice):
- tasks_schedule() claims queued tasks fairly across channels (conditional UPDATE).
- step_run() creates the step's work items (one per unit of paid work) and sends one message per
  unit still to do. No chord: the last unit to finish completes the step.
- units.unit_run() (pipeline/units.py) claims its item with a lease, runs the script and records
  the result only if its lease is still the current one (fencing), with the call's VideoCost.
- step_complete_if_done() and task_advance() move the task to the next step or stop at a gate.
Every message may arrive twice; every function here is a no-op when its work is already done.
"""

import datetime as dt

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from channels_app.models import PRIORITY_RANK, Channel, Priority
from core.alerts import alert_send
from core.logging import bind_correlation_id
from core.media_cache import media_local_copy
from core.media_store import media_key, media_store
from core.text.input_bounds import topic_problems
from costs.models import VideoCost
from costs.prices import price
from costs.services import budget_check
from pipeline import dispatch, limits
from pipeline.clock import db_now
from pipeline.final_cut import cut_music_track, cut_prepare
from pipeline.media import media_duration
from pipeline.models import Video, VideoTask, WorkItem, WorkState
from pipeline.status import (
    GATE_BY_STATUS,
    RUNNING_STATUSES,
    STEP_STATUSES,
    Status,
)
from pipeline.step_tables import TABLES
from pipeline.steps import STEP_BY_NAME
from pipeline.transitions import TransitionConflict, error_log_append, task_transition
from pipeline.watchdog import workspace_space_allows_new_steps

log = structlog.get_logger(__name__)

S = Status
# What comes after each status where a step is done or a gate was passed (from the steps).
NEXT_STEP = {S(status): step for status, step in TABLES.next_step.items()}


class PipelineError(Exception):
    """An operator asked for something the task's state does not allow; the message says why."""


def bind_task_context(task, **extra):
    bind_correlation_id(task.correlation_id, task_id=str(task.pk), channel=task.channel_id, **extra)


# --- Creating and scheduling tasks ---------------------------------------------------------------


def video_task_create(
    *, channel, storyboard, actor="system", topic="", story_direction="", priority=None, queue=True
):
    """A new task from a validated storyboard (core.text.storyboard), queued unless queue=False."""
    if not channel.is_active:
        raise PipelineError(f"channel {channel.id} is inactive; activate it in its YAML first")
    problems = topic_problems(topic, story_direction)
    if problems:
        raise PipelineError("the task was not created: " + "; ".join(problems))
    with transaction.atomic():
        task = VideoTask.objects.create(
            channel=channel,
            title=storyboard["title"][:200],
            topic=topic,
            story_direction=story_direction,
            storyboard=storyboard,
            priority=priority or channel.priority,
        )
        if queue:
            task_transition(task=task, to=S.QUEUED, reason="created", actor=actor)
            dispatch.dispatch_schedule()
    return task


def _scheduler_lock():
    """Serialize schedulers: on PostgreSQL an advisory lock for this transaction; SQLite
    transactions here are IMMEDIATE, which already takes the database's write lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [7_305_001])


def tasks_schedule():
    """Claim queued tasks while there is room, fairly across channels.

    Room: at most PIPELINE_MAX_ACTIVE_VIDEOS videos in production at once, and per channel its
    max_concurrent. Order among channels: fewest videos in flight, then the head task's priority,
    then the channel that started a video least recently, then the oldest task. So a channel with
    a backlog of 50 cannot delay another channel's first video behind them.
    """
    claimed = []
    with transaction.atomic():
        _scheduler_lock()
        active = VideoTask.objects.filter(status__in=RUNNING_STATUSES, cancelled_at__isnull=True)
        room = settings.PIPELINE_MAX_ACTIVE_VIDEOS - active.count()
        if room <= 0:
            return claimed
        in_flight = dict(active.values_list("channel").annotate(n=Count("id")))
        last_start = dict(
            VideoTask.objects.filter(started_at__isnull=False)
            .values_list("channel")
            .annotate(last=Max("started_at"))
        )
        queued = VideoTask.objects.filter(
            status=S.QUEUED, cancelled_at__isnull=True, channel__is_active=True
        )
        limits_by_channel = dict(Channel.objects.values_list("id", "max_concurrent"))
        epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
        while room > 0:
            heads = _queue_heads(queued, exclude=claimed)
            eligible = [
                task
                for task in heads
                if in_flight.get(task.channel_id, 0) < limits_by_channel[task.channel_id]
            ]
            if not eligible:
                break
            task = min(
                eligible,
                key=lambda t: (
                    in_flight.get(t.channel_id, 0),
                    PRIORITY_RANK[Priority(t.priority)],
                    last_start.get(t.channel_id) or epoch,
                    t.created_at,
                ),
            )
            try:
                task_transition(task=task, to=S.CLAIMED, expected=S.QUEUED, reason="scheduled")
            except TransitionConflict:
                claimed.append(task.pk)  # someone moved it: skip it this round
                continue
            now = timezone.now()
            VideoTask.objects.filter(pk=task.pk).update(started_at=now)
            last_start[task.channel_id] = now
            in_flight[task.channel_id] = in_flight.get(task.channel_id, 0) + 1
            claimed.append(task.pk)
            room -= 1
            dispatch.dispatch_start(task.pk)
    return claimed


def _queue_heads(queued, *, exclude):
    """The next task of each channel's queue: highest priority first, then oldest."""
    heads = {}
    rows = queued.exclude(pk__in=exclude).order_by("created_at")
    for task in rows.only("id", "channel_id", "priority", "created_at", "status"):
        current = heads.get(task.channel_id)
        rank = PRIORITY_RANK[Priority(task.priority)]
        if current is None or rank < PRIORITY_RANK[Priority(current.priority)]:
            heads[task.channel_id] = task
    return list(heads.values())


def task_start(task_id):
    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    if task.status != S.CLAIMED or task.cancelled_at:
        return False
    bind_task_context(task)
    try:
        task_transition(task=task, to=S.GENERATING_ASSETS, expected=S.CLAIMED, reason="started")
    except TransitionConflict:
        return False
    dispatch.dispatch_step(task.pk, "assets")
    log.info("task_started")
    return True


# --- Steps ---------------------------------------------------------------------------------------


def _estimate_usd(specs):
    return sum((price(provider=s.provider, usage=s.estimate)[2] for s in specs), start=0)


def step_run(task_id, step_name):
    """Fan a step out into its units. A no-op unless the task is in the step's running status."""
    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    running = STEP_STATUSES[step_name][0]
    if task.status != running or task.cancelled_at:
        log.info("step_run_skipped", task_id=str(task_id), step=step_name, status=task.status)
        return 0
    bind_task_context(task, step=step_name)
    if task.next_attempt_at and task.next_attempt_at > db_now():
        return 0  # waiting (budget or quota); the reconciler sends the step again at that time
    if not workspace_space_allows_new_steps():
        return 0  # CRITICAL alert sent; the reconciler sends the step again later
    step = STEP_BY_NAME[step_name]
    specs = step.units(task)
    WorkItem.objects.bulk_create(
        [
            WorkItem(
                task=task,
                step=step_name,
                unit=spec.unit,
                script=spec.script or "function",
                provider=spec.provider,
                output_path=str(spec.output),
            )
            for spec in specs
        ],
        ignore_conflicts=True,
    )
    items = {item.unit: item for item in WorkItem.objects.filter(task=task, step=step_name)}
    to_do = [s for s in specs if items[s.unit].state != WorkState.DONE]
    if budget_wait(task, step_name, to_do):
        return 0
    if not to_do:
        step_complete_if_done(task.pk, step_name)
        return 0
    # Units ready to run wait in their provider's line (pipeline/limits.py decides who goes
    # first); the others are sent as they are: a running one is claimed only once its lease has
    # run out, one waiting for another unit of the step returns until that one sends it.
    now = db_now()
    done = {unit for unit, item in items.items() if item.state == WorkState.DONE}
    ready = [
        items[spec.unit]
        for spec in to_do
        if items[spec.unit].state == WorkState.PENDING
        and (items[spec.unit].next_attempt_at is None or items[spec.unit].next_attempt_at <= now)
        and done.issuperset(spec.after)
    ]
    for item in ready:
        item.task = task
    limits.units_line_up(ready)
    for provider in sorted({item.provider for item in ready}):
        limits.slots_grant(provider)
    lined_up = {item.pk for item in ready}
    for spec in to_do:
        if items[spec.unit].pk not in lined_up:
            dispatch.dispatch_unit(items[spec.unit].pk)
    log.info("step_fanned_out", units=len(to_do))
    return len(to_do)


def budget_wait(task, step_name, specs):
    """None when the channel's budget allows these units' estimated cost now; otherwise the time
    the task waits until (its waiting reason says "budget", and an alert says why)."""
    estimate = _estimate_usd(specs)
    verdict = budget_check(channel=task.channel, estimate_usd=estimate)
    if verdict.allowed:
        if task.waiting_reason == "budget":
            VideoTask.objects.filter(pk=task.pk).update(waiting_reason="", next_attempt_at=None)
        return None
    VideoTask.objects.filter(pk=task.pk).update(
        waiting_reason="budget", next_attempt_at=verdict.resume_at
    )
    weekly = verdict.period == "weekly"
    alert_send(
        # The weekly budget pauses every new step of the channel until next week: CRITICAL.
        level="CRITICAL" if weekly else "WARNING",
        title=f"{task.channel_id}: {verdict.period} budget reached, "
        + ("the channel's new steps pause" if weekly else "video waits"),
        message=f"'{task.title}' waits before step {step_name}: {verdict.reason}. "
        f"It resumes at {verdict.resume_at:%Y-%m-%d %H:%M %Z}.",
        key=f"budget:{task.channel_id}:{verdict.resume_at:%Y-%m-%d}",
    )
    log.warning("step_waits_for_budget", reason=verdict.reason)
    return verdict.resume_at


def step_complete_if_done(task_id, step_name):
    """When every unit of the step is done, move the task on (once: conditional UPDATE)."""
    if (
        WorkItem.objects.filter(task_id=task_id, step=step_name)
        .exclude(state=WorkState.DONE)
        .exists()
    ):
        return False
    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    running, done, _ = STEP_STATUSES[step_name]
    if task.status != running or task.cancelled_at:
        return False
    try:
        task = task_transition(
            task=task, to=done, expected=running, reason=step_done_summary(task, step_name)
        )
    except TransitionConflict:
        return False
    task_advance(task.pk)
    return True


def step_done_summary(task, step_name):
    """What this pass through the step made and what it cost, for the timeline: "videos: 4 made
    ($5.60)", or after a redo "videos: s02 made again ($1.40), 3 kept". A unit finished since
    the task entered the step's running status was made in this pass."""
    units = list(
        WorkItem.objects.filter(task=task, step=step_name).values_list("pk", "unit", "finished_at")
    )
    made = [
        (pk, unit)
        for pk, unit, finished in units
        if finished and finished >= task.status_changed_at
    ]
    usd = sum(
        VideoCost.objects.filter(
            work_item_id__in=[pk for pk, _ in made], created_at__gte=task.status_changed_at
        ).values_list("usd", flat=True),
        0,
    )
    kept = len(units) - len(made)
    if not kept:
        return f"{step_name}: {len(made)} made (${usd:.2f})"
    names = ", ".join(unit for _, unit in made[:8]) + (" ..." if len(made) > 8 else "")
    return f"{step_name}: {names or 'nothing'} made again (${usd:.2f}), {kept} kept"


def task_advance(task_id):
    """From a step's done status or a passed gate, go to the next step, or stop at a gate."""
    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    if task.cancelled_at:
        return
    bind_task_context(task)
    status = S(task.status)
    gate = GATE_BY_STATUS.get(status)
    if status == S.ASSEMBLY_READY:
        _video_record(task)
        _, stop = cut_prepare(task)
        try:
            if stop:
                task_transition(
                    task=task,
                    to=S.VIDEO_ERROR,
                    expected=status,
                    reason=stop[:5000],
                    error_log=error_log_append(task.error_log, stop),
                )
            else:
                task_transition(
                    task=task, to=S.FINAL_REVIEW, expected=status, reason="ready for review"
                )
        except TransitionConflict:
            return
        dispatch.dispatch_schedule()  # its production slot is free
        return
    if gate == "final" or (gate and gate in (task.channel.review_gates or [])):
        dispatch.dispatch_schedule()
        return
    next_step = NEXT_STEP.get(status)
    if next_step is None:
        if status == S.PUBLISHED:
            dispatch.dispatch_schedule()
        return
    if task.next_attempt_at and task.next_attempt_at > db_now():
        return  # deferred (quota); the reconciler advances it when the time comes
    try:
        task_transition(
            task=task,
            to=STEP_STATUSES[next_step][0],
            expected=status,
            waiting_reason="",
            next_attempt_at=None,
        )
    except TransitionConflict:
        return
    dispatch.dispatch_step(task.pk, next_step)


def _video_record(task):
    spec = STEP_BY_NAME["assembly"].units(task)[0]
    path = spec.output
    key = media_key(path)
    try:
        duration = media_duration(media_local_copy(key))  # from the store, on any process
    except FileNotFoundError:
        duration = None
    stored = media_store().stat(key)
    Video.objects.update_or_create(
        task=task,
        defaults={
            "music_track": cut_music_track(task),
            "final_path": str(path),
            "duration_seconds": duration,
            "size_bytes": stored.size if stored else None,
        },
    )


# --- Operator actions ----------------------------------------------------------------------------
