"""The pipeline's business logic, as plain functions. Celery tasks (pipeline/tasks.py) load ids
and call these; so do management commands and the admin.

The shape of one video's run (design.md, "Reliability"):
- tasks_schedule() claims queued tasks fairly across channels (conditional UPDATE).
- step_run() creates the step's work items (one per unit of paid work) and sends one message per
  unit still to do. No chord: the last unit to finish completes the step.
- unit_run() claims its item with a lease (conditional UPDATE), runs the script with no database
  connection held, then records the result only if its lease is still the current one (fencing),
  together with the VideoCost of the call.
- step_complete_if_done() and task_advance() move the task to the next step or stop at a gate.
Every message may arrive twice; every function here is a no-op when its work is already done.
"""

import datetime as dt
import os
import random
import socket
import threading
import uuid

import structlog
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from channels_app.models import PRIORITY_RANK, SCRIPT_ENV_BY_SECRET, Channel, Priority
from channels_app.services import channel_secret_get
from costs.models import VideoCost
from costs.prices import price
from costs.services import budget_check, video_cost_record
from pipeline import dispatch, limits
from pipeline.alerts import alert_send
from pipeline.media import media_duration, output_valid
from pipeline.models import Video, VideoTask, WorkItem, WorkState
from pipeline.runner import Outcome, ScriptCancelled, ScriptResult, run_script, stop_stale_run
from pipeline.status import (
    ERROR_STATUSES,
    GATE_BY_STATUS,
    RUNNING_STATUSES,
    STEP_ORDER,
    STEP_STATUSES,
    Status,
)
from pipeline.steps import SECRETS_BY_PROVIDER, STEP_BY_NAME, UnitDeferred, UnitError
from pipeline.transitions import TransitionConflict, notify_task_changed, task_transition
from videogen.logging import bind_correlation_id

log = structlog.get_logger(__name__)

S = Status
# What comes after each status where a step is done or a gate was passed.
NEXT_STEP = {
    S.ASSETS_READY: "composites",
    S.ASSETS_APPROVED: "composites",
    S.COMPOSITES_READY: "videos",
    S.VIDEO_READY: "audio",
    S.VIDEO_APPROVED: "audio",
    S.AUDIO_READY: "sfx",
    S.AUDIO_APPROVED: "sfx",
    S.SFX_READY: "assembly",
    S.APPROVED: "upload",
}
SLOT_WAIT_SECONDS = 30
# How often a running unit renews its lease; also how soon a cancellation stops its script.
HEARTBEAT_SECONDS = 10
SLOT_REQUEUE_SECONDS = 2


class PipelineError(Exception):
    """An operator asked for something the task's state does not allow; the message says why."""


def worker_identity():
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def _bind(task, **extra):
    bind_correlation_id(task.correlation_id, task_id=str(task.pk), channel=task.channel_id, **extra)


# --- Creating and scheduling tasks ---------------------------------------------------------------


def video_task_create(
    *, channel, storyboard, actor="system", topic="", story_direction="", priority=None, queue=True
):
    """A new task from a validated storyboard (pipeline.storyboard), queued unless queue=False."""
    if not channel.is_active:
        raise PipelineError(f"channel {channel.id} is inactive; activate it in its YAML first")
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
    _bind(task)
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
    _bind(task, step=step_name)
    if task.next_attempt_at and task.next_attempt_at > timezone.now():
        return 0  # waiting (budget or quota); the reconciler sends the step again at that time
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
    if not _budget_allows(task, step_name, to_do):
        return 0
    if not to_do:
        step_complete_if_done(task.pk, step_name)
        return 0
    for spec in to_do:
        dispatch.dispatch_unit(items[spec.unit].pk)
    log.info("step_fanned_out", units=len(to_do))
    return len(to_do)


def _budget_allows(task, step_name, specs):
    estimate = _estimate_usd(specs)
    verdict = budget_check(channel=task.channel, estimate_usd=estimate)
    if verdict.allowed:
        if task.waiting_reason == "budget":
            VideoTask.objects.filter(pk=task.pk).update(waiting_reason="", next_attempt_at=None)
        return True
    VideoTask.objects.filter(pk=task.pk).update(
        waiting_reason="budget", next_attempt_at=verdict.resume_at
    )
    alert_send(
        level="WARNING",
        title=f"{task.channel_id}: budget reached, video waits",
        message=f"'{task.title}' waits before step {step_name}: {verdict.reason}. "
        f"It resumes at {verdict.resume_at:%Y-%m-%d %H:%M %Z}.",
        key=f"budget:{task.channel_id}:{verdict.resume_at:%Y-%m-%d}",
    )
    log.warning("step_waits_for_budget", reason=verdict.reason)
    return False


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
    count = WorkItem.objects.filter(task_id=task_id, step=step_name).count()
    try:
        task = task_transition(
            task=task, to=done, expected=running, reason=f"{step_name}: {count} done"
        )
    except TransitionConflict:
        return False
    task_advance(task.pk)
    return True


def task_advance(task_id):
    """From a step's done status or a passed gate, go to the next step, or stop at a gate."""
    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    if task.cancelled_at:
        return
    _bind(task)
    status = S(task.status)
    gate = GATE_BY_STATUS.get(status)
    if status == S.ASSEMBLY_READY:
        _video_record(task)
        try:
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
    if task.next_attempt_at and task.next_attempt_at > timezone.now():
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
    Video.objects.update_or_create(
        task=task,
        defaults={
            "final_path": str(path),
            "duration_seconds": media_duration(path),
            "size_bytes": path.stat().st_size if path.exists() else None,
        },
    )


# --- Units: claim, run, record -------------------------------------------------------------------


def _claimable(now):
    return Q(state=WorkState.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ) | Q(state=WorkState.RUNNING, lease_expires_at__lt=now)


def _fenced(item_id, owner, attempt):
    return WorkItem.objects.filter(
        pk=item_id, state=WorkState.RUNNING, lease_owner=owner, attempts=attempt
    )


def unit_claim(item_id, owner):
    """Take the item for this execution, or return None when it is done, taken or not due."""
    now = timezone.now()
    lease = dt.timedelta(seconds=settings.PIPELINE_LEASE_SECONDS)
    claimed = (
        WorkItem.objects.filter(_claimable(now), pk=item_id)
        .exclude(task__cancelled_at__isnull=False)
        .update(
            state=WorkState.RUNNING,
            attempts=F("attempts") + 1,
            lease_owner=owner,
            lease_expires_at=now + lease,
            started_at=now,
            next_attempt_at=None,
        )
    )
    if claimed != 1:
        return None
    return WorkItem.objects.select_related("task__channel").get(pk=item_id)


def _script_env(task, provider):
    env = {}
    for secret in SECRETS_BY_PROVIDER.get(provider, []):
        value = channel_secret_get(channel=task.channel, name=secret)
        if value:
            env[SCRIPT_ENV_BY_SECRET[secret]] = value
    return env


def unit_run(item_id):
    """Run one unit of paid work, at most once to completion per claim."""
    item = WorkItem.objects.select_related("task__channel").get(pk=item_id)
    task = item.task
    if task.status != STEP_STATUSES[item.step][0] or task.cancelled_at:
        return "skipped"
    _bind(task, step=item.step, unit=item.unit)
    owner = worker_identity()
    item = unit_claim(item_id, owner)
    if item is None:
        log.info("unit_not_claimed")
        return "not-claimed"
    attempt = item.attempts
    step = STEP_BY_NAME[item.step]
    spec = step.unit(task, item.unit)
    if _units_not_done(task.pk, item.step, spec.after):
        # Sent with the rest of its step; the unit it needs sends it again once done.
        _unit_release(item, owner, attempt)
        log.info("unit_waits", after=list(spec.after))
        return "waiting"
    pidfile = spec.output.with_name(f".{spec.output.name}.run")
    stop_stale_run(pidfile)  # whatever a previous, killed run of this unit left behind
    if attempt > settings.PIPELINE_MAX_ATTEMPTS:
        # Claimed again after its worker died every time (OOM, kill): stop instead of looping.
        _unit_fail(
            item,
            owner,
            attempt,
            ScriptResult(
                script=item.script,
                exit_code=-9,
                outcome=Outcome.UNKNOWN,
                error=f"the worker running it was lost {attempt - 1} times",
            ),
            final=True,
        )
        return "failed"
    if output_valid(spec.output):
        _unit_done(item, owner, attempt, spec, result=None)
        return "resumed"
    if spec.prepare:
        spec.prepare()
    env = _script_env(task, spec.provider)
    close_old_connections()
    try:
        with limits.provider_slot(
            spec.slot, lease_seconds=settings.PIPELINE_LEASE_SECONDS, wait_seconds=SLOT_WAIT_SECONDS
        ) as slot:
            connection.close()  # no database connection is held while the script runs

            held_until = item.lease_expires_at

            def heartbeat():
                nonlocal held_until
                lease_until = timezone.now() + dt.timedelta(seconds=settings.PIPELINE_LEASE_SECONDS)
                try:
                    alive = (
                        _fenced(item.pk, owner, attempt)
                        .exclude(task__cancelled_at__isnull=False)
                        .update(lease_expires_at=lease_until)
                        == 1
                    )
                    slot.renew()
                except DatabaseError as error:
                    # PostgreSQL restarting or failing over: the lease we hold stays ours until it
                    # expires, so the paid call keeps running; stop only once it has expired
                    # (another worker may then claim the unit).
                    log.warning("heartbeat_database_unavailable", error=str(error)[:300])
                    return timezone.now() < held_until
                finally:
                    connection.close()
                if alive:
                    held_until = lease_until
                return alive

            if spec.function:
                result = _run_function(spec, task)
            else:
                result = run_script(
                    spec.script,
                    [*spec.args, "--provider", spec.provider],
                    env={**spec.env, **env},
                    correlation_id=task.correlation_id,
                    heartbeat=heartbeat,
                    heartbeat_every=min(HEARTBEAT_SECONDS, settings.PIPELINE_LEASE_SECONDS / 3),
                    pidfile=pidfile,
                )
    except limits.SlotUnavailable:
        # Not an attempt: give the claim back and come again shortly.
        _unit_release(item, owner, attempt)
        dispatch.dispatch_unit(item.pk, countdown=SLOT_REQUEUE_SECONDS)
        return "requeued"
    except UnitDeferred as deferred:
        _unit_release(item, owner, attempt)
        _task_defer(task, item.step, reason=deferred.reason, until=deferred.until)
        return "deferred"
    except ScriptCancelled:
        log.warning("unit_cancelled")
        return "cancelled"
    except SoftTimeLimitExceeded:
        # The runner already stopped the script's process group; count it as a temporary failure.
        result = ScriptResult(
            script=spec.script or "function",
            exit_code=-15,
            outcome=Outcome.TEMPORARY,
            error=f"ran past the step's soft time limit ({settings.PIPELINE_STEP_SOFT_LIMIT} s)",
        )
    return _unit_record(item, owner, attempt, spec, result)


def _units_not_done(task_id, step_name, units):
    if not units:
        return False
    return (
        WorkItem.objects.filter(task_id=task_id, step=step_name, unit__in=units)
        .exclude(state=WorkState.DONE)
        .exists()
    )


def _dispatch_dependents(item, step):
    """Send the units of the step that were waiting for this one and now have all they need."""
    waiting = [spec for spec in step.units(item.task) if item.unit in spec.after]
    if not waiting:
        return
    items = WorkItem.objects.filter(
        task_id=item.task_id, step=item.step, unit__in=[spec.unit for spec in waiting]
    ).exclude(state=WorkState.DONE)
    by_unit = {pending.unit: pending for pending in items}
    for spec in waiting:
        if spec.unit in by_unit and not _units_not_done(item.task_id, item.step, spec.after):
            dispatch.dispatch_unit(by_unit[spec.unit].pk)


def _unit_release(item, owner, attempt):
    _fenced(item.pk, owner, attempt).update(
        state=WorkState.PENDING, attempts=F("attempts") - 1, lease_owner="", lease_expires_at=None
    )


# Where a task waits when its step must wait for a time (only the upload waits, for quota).
DEFER_STATUS = {"upload": S.APPROVED}


def _task_defer(task, step, *, reason, until):
    running = STEP_STATUSES[step][0]
    try:
        task_transition(
            task=task,
            to=DEFER_STATUS[step],
            expected=running,
            reason=f"waits until {until:%Y-%m-%d %H:%M %Z}: {reason}",
            waiting_reason=reason[:32],
            next_attempt_at=until,
        )
    except TransitionConflict:
        return
    log.warning("task_deferred", reason=reason, until=until.isoformat())


def _run_function(spec, task):
    try:
        outcome = spec.function(task)
    except UnitDeferred:
        raise
    except UnitError as error:
        return ScriptResult(
            script="function", exit_code=1, outcome=error.outcome, error=str(error)[:2000]
        )
    except Exception as error:  # an in-process unit failing is a script failing
        log.exception("unit_function_failed")
        return ScriptResult(
            script="function", exit_code=1, outcome=Outcome.UNKNOWN, error=str(error)[:2000]
        )
    return ScriptResult(
        script="function",
        exit_code=0,
        outcome=Outcome.OK,
        outputs=outcome.get("outputs", []),
        usage=outcome.get("usage", {}),
        json_line=True,
    )


def _unit_record(item, owner, attempt, spec, result):
    if result.ok and not output_valid(spec.output):
        result = ScriptResult(
            script=result.script,
            exit_code=result.exit_code,
            outcome=Outcome.UNKNOWN,
            error=f"{result.script} exited 0 but {spec.output} is missing or not valid media",
        )
    if result.ok:
        _unit_done(item, owner, attempt, spec, result)
        return "done"
    retry = result.retriable and attempt < settings.PIPELINE_MAX_ATTEMPTS
    _unit_fail(item, owner, attempt, result, final=not retry)
    return "retry" if retry else "failed"


def _output_uncosted(item, spec):
    """The output exists but no cost row stands for it: a run completed (and was paid) but its
    worker died, or the database was down, before it could record the result."""
    if not spec.script:
        return False
    written = dt.datetime.fromtimestamp(spec.output.stat().st_mtime, tz=dt.UTC)
    # Cost rows are written seconds after the file; allow for clocks of other machines.
    recorded_since = written - dt.timedelta(minutes=2)
    return not VideoCost.objects.filter(work_item=item, created_at__gte=recorded_since).exists()


def _unit_done(item, owner, attempt, spec, result):
    """Record success (fenced) and, for a completed call, its cost. A call that completed is
    costed even when its lease was lost meanwhile: it was paid for. An output found in place
    without a cost row (its run was never recorded) is costed at the estimate."""
    step = STEP_BY_NAME[item.step]
    recovered = result is None and _output_uncosted(item, spec)
    if recovered:
        result = ScriptResult(script=spec.script, exit_code=0, outcome=Outcome.OK)
    usage = (result.usage if result and result.json_line else spec.estimate) if result else {}
    with transaction.atomic():
        current = _fenced(item.pk, owner, attempt).update(
            state=WorkState.DONE,
            usage=usage,
            exit_code=result.exit_code if result else None,
            error="",
            calls=F("calls") + (1 if result else 0),
            finished_at=timezone.now(),
            lease_owner="",
            lease_expires_at=None,
        )
        if result:
            video_cost_record(
                work_item=item,
                attempt=attempt,
                component=step.component,
                provider=spec.provider,
                usage=usage,
                metadata={
                    "script": result.script,
                    "seconds": round(result.seconds, 3),
                    "estimated": not result.json_line,
                    "stale": current != 1,
                    "recovered": recovered,
                },
            )
            notify_task_changed(item.task_id)
    if current != 1:
        log.warning("unit_result_stale", attempt=attempt)
        return
    log.info("unit_done", resumed=result is None, seconds=round(result.seconds, 3) if result else 0)
    if item.step == "upload":
        _upload_record(item.task_id, result)
    _dispatch_dependents(item, step)
    step_complete_if_done(item.task_id, item.step)


def _upload_record(task_id, result):
    url = ""
    if result and result.outputs:
        url = str(result.outputs[0])
    Video.objects.filter(task_id=task_id).update(published_at=timezone.now())
    if result and result.usage.get("youtube_video_id"):
        Video.objects.filter(task_id=task_id).update(
            youtube_video_id=result.usage["youtube_video_id"], youtube_url=url
        )


def backoff_seconds(attempt):
    """Exponential backoff with jitter: base * 2^(attempt-1), capped, times 0.5-1.5."""
    base = settings.PIPELINE_RETRY_BACKOFF_BASE * (2 ** max(attempt - 1, 0))
    return min(settings.PIPELINE_RETRY_BACKOFF_MAX, base) * (0.5 + random.random())  # noqa: S311


def _unit_fail(item, owner, attempt, result, *, final):
    task = item.task
    where = (
        f"step {item.step}, {('scene ' if item.step not in ('assets',) else 'asset ')}{item.unit}"
    )
    message = (
        f"{where}: {result.script} exited {result.exit_code} ({result.outcome.value}) "
        f"on attempt {attempt}: {result.error or 'no message'}"
    )
    if not final:
        delay = backoff_seconds(attempt)
        updated = _fenced(item.pk, owner, attempt).update(
            state=WorkState.PENDING,
            error=message,
            exit_code=result.exit_code,
            lease_owner="",
            lease_expires_at=None,
            next_attempt_at=timezone.now() + dt.timedelta(seconds=delay),
        )
        if updated:
            log.warning("unit_retry", error=message, delay=round(delay, 2))
            dispatch.dispatch_unit(item.pk, countdown=delay)
        return
    with transaction.atomic():
        updated = _fenced(item.pk, owner, attempt).update(
            state=WorkState.FAILED,
            error=message,
            exit_code=result.exit_code,
            lease_owner="",
            lease_expires_at=None,
            finished_at=timezone.now(),
        )
        if not updated:
            return
        running, _, error_status = STEP_STATUSES[item.step]
        task.refresh_from_db()
        log_text = _append_log(task.error_log, message)
        try:
            task_transition(
                task=task,
                to=error_status,
                expected=running,
                reason=message[:1000],
                failed_step=item.step,
                error_log=log_text,
            )
        except TransitionConflict:
            return  # another unit of this step already stopped the task
        # In the same transaction as the stop: a crash cannot leave a stopped task unannounced.
        alert_send(
            level="ERROR",
            title=f"{task.channel_id}: '{task.title}' stopped in {item.step}",
            message=message,
            key=f"unit-failed:{item.pk}:{attempt}",
            fields={"task": str(task.pk), "status": error_status},
        )
    log.error("unit_failed", error=message)


def _append_log(existing, message):
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S UTC")
    text = f"{existing}\n[{stamp}] {message}".strip()
    return text[-20_000:]


# --- Operator actions ----------------------------------------------------------------------------


def task_retry(*, task_id, actor):
    """Send a task in an error status back to the step that failed; work done is kept."""
    from reviews.services import audit_log_record

    task = VideoTask.objects.select_related("channel").get(pk=task_id)
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
            reason="retry",
            actor=str(actor),
            next_attempt_at=None,
            waiting_reason="",
        )
        later_steps = STEP_ORDER[STEP_ORDER.index(step) :]
        WorkItem.objects.filter(task=task, step__in=later_steps, state=WorkState.FAILED).update(
            state=WorkState.PENDING,
            attempts=0,
            next_attempt_at=None,
            lease_owner="",
            lease_expires_at=None,
        )
        audit_log_record(actor=actor, action="task_retry", task=task, metadata={"step": step})
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
    from reviews.services import audit_log_record

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
