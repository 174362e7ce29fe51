"""One unit of paid work (an asset, a scene's clip, a narration, the assembly, the upload): claim
it with a lease (conditional UPDATE), run its script with no database connection held, then
record the result only if the lease is still the current one (fencing), together with the
VideoCost of the call (pipeline/unit_records.py); retry with backoff or stop the task in its
step's error column.

Steps are fanned out and completed by pipeline/services.py.
"""

import time

import structlog
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import Exists, F, OuterRef, Q

from channels_app.services import channel_secret_get
from core.providers import SCRIPT_ENV_BY_SECRET, SECRETS_BY_PROVIDER
from pipeline import dispatch, limits
from pipeline.clock import db_now, later_expression, now_expression
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.processes import stop_stale_run
from pipeline.runner import Outcome, ScriptCancelled, ScriptResult, run_script
from pipeline.services import bind_task_context
from pipeline.status import STEP_STATUSES, UNIT_RUNNING_STATUS, Status
from pipeline.steps import STEP_BY_NAME
from pipeline.transitions import (
    TransitionConflict,
    task_transition,
)
from pipeline.unit_media import UnitInputMissing, output_stored, unit_folder
from pipeline.unit_records import (
    fenced,
    unit_done,
    unit_fail,
    unit_record,
    unit_stop_unexpected,
    units_not_done,
)
from pipeline.unit_spec import UnitBusy, UnitDeferred, UnitError
from pipeline.workers import worker_identity

log = structlog.get_logger(__name__)

S = Status
# How often a running unit renews its lease; also how soon a cancellation stops its script.
HEARTBEAT_SECONDS = 10
SLOT_REQUEUE_SECONDS = 2


def cancelled_task(task_id):
    """For ~Exists(...): the conditions stay on the unit's own row in the UPDATE."""
    return VideoTask.objects.filter(pk=task_id, cancelled_at__isnull=False)


def _claimable(now):
    return Q(state=WorkState.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ) | Q(state=WorkState.RUNNING, lease_expires_at__lt=now)


def unit_claim(item_id, owner):
    """Take the item for this execution, or return None when it is done, taken or not due.

    One UPDATE of the unit's own row, its conditions on that row alone: under READ COMMITTED a
    second claim waits for the first one's row lock and then re-checks those conditions against
    the row the first one wrote, so only one can match. (A join, or Django's `pk IN (subquery)`
    form of one, would be re-checked on the outer row only, and both claims could win.) The
    attempt number is read back inside the same transaction, under that row lock, so no other
    claim can have moved it in between. Times are the database's (pipeline/clock.py)."""
    with transaction.atomic():
        claimed = (
            WorkItem.objects.filter(_claimable(now_expression()), pk=item_id)
            .filter(~Exists(cancelled_task(OuterRef("task_id"))))
            .update(
                state=WorkState.RUNNING,
                attempts=F("attempts") + 1,
                lease_owner=owner,
                lease_expires_at=later_expression(settings.PIPELINE_LEASE_SECONDS),
                started_at=now_expression(),
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
    """Run one unit of paid work, at most once to completion per claim. An unexpected error (a
    database constraint, a bug) stops the unit and its task in the step's error column at once,
    with the message, instead of leaving it running until its lease expires."""
    owner = worker_identity()
    try:
        return _unit_run(item_id, owner)
    except DATABASE_GONE as error:
        # Nothing can be recorded now, not even a stop. Give the unit back the moment the
        # database answers again, instead of holding it until its lease runs out.
        log.warning("unit_database_unavailable", error=str(error)[:300])
        _database_wait_for_return()
        return _unit_give_back(item_id, owner)
    except Exception as error:
        log.exception("unit_unexpected_error")
        unit_stop_unexpected(item_id, owner, error)
        return "failed"


def _unit_run(item_id, owner):
    item = WorkItem.objects.select_related("task__channel").get(pk=item_id)
    task = item.task
    if task.status != UNIT_RUNNING_STATUS[item.step] or task.cancelled_at:
        limits.unit_leaves_line(item.provider, item.pk)
        return "skipped"
    bind_task_context(task, step=item.step, unit=item.unit)
    claimed_at = time.monotonic()
    provider = item.provider
    item = unit_claim(item_id, owner)
    if item is None:
        # Done, or run by another execution (which lines itself up if it needs to): a slot
        # granted to this unit would otherwise stay unused until the grant runs out.
        limits.grant_give_back(provider, item_id)
        log.info("unit_not_claimed")
        return "not-claimed"
    attempt = item.attempts
    step = STEP_BY_NAME[item.step]
    spec = step.unit(task, item.unit)
    if units_not_done(task.pk, item.step, spec.after):
        # Sent with the rest of its step; the unit it needs sends it again once done.
        _unit_release(item, owner, attempt)
        limits.unit_leaves_line(provider, item.pk)
        log.info("unit_waits", after=list(spec.after))
        return "waiting"
    pidfile = spec.output.with_name(f".{spec.output.name}.run")
    stop_stale_run(pidfile)  # whatever a previous, killed run of this unit left behind
    if attempt - item.retry_base > settings.PIPELINE_MAX_ATTEMPTS:
        limits.unit_leaves_line(provider, item.pk)
        # Claimed again after its worker died every time (OOM, kill): stop instead of looping.
        unit_fail(
            item,
            owner,
            attempt,
            ScriptResult(
                script=item.script,
                exit_code=-9,
                outcome=Outcome.UNKNOWN,
                error=f"the worker running it was lost {attempt - item.retry_base - 1} times",
            ),
            final=True,
        )
        return "failed"
    if output_stored(spec):
        unit_done(item, owner, attempt, spec, result=None)
        limits.unit_leaves_line(provider, item.pk)
        return "resumed"
    try:
        with unit_folder(spec) as folder:
            return _unit_run_in(folder, item, owner, attempt, task, pidfile, claimed_at)
    except UnitInputMissing as missing:
        limits.unit_leaves_line(provider, item.pk)
        result = ScriptResult(
            script=item.script,
            exit_code=66,
            outcome=Outcome.UNKNOWN,  # bounded retries: the unit that makes it may be redone
            error=f"an input of {item.step} {item.unit} is missing: {missing}",
        )
        return _unit_record_when_database_answers(item, owner, attempt, spec, result)


def _unit_run_in(folder, item, owner, attempt, task, pidfile, claimed_at):
    """Run the unit in its folder (unit_media.py: the workspace, or a scratch folder with its
    inputs fetched), store what it made, record the result."""
    spec = folder.spec
    # Made ready (unit_folder ran its prepare) before the slot is taken: a slot is held only
    # while the script runs.
    env = _script_env(task, spec.provider)
    lease = settings.PIPELINE_LEASE_SECONDS
    # The holder is the unit's execution, so the slot is freed with the unit if this worker is
    # lost.
    slot = limits.slot_take(item, owner, lease_seconds=lease) or limits.slot_wait_invited(
        item, owner, lease_seconds=lease, wait_seconds=min(limits.INVITED_WAIT_SECONDS, lease / 3)
    )
    if slot is None:
        # Not an attempt: the claim goes back, the unit waits in line without holding a worker
        # thread, and its grant sends it again.
        _unit_release(item, owner, attempt)
        limits.unit_wait_in_line(item)
        log.info("unit_lined_up")
        return "lined-up"
    close_old_connections()
    try:
        with slot:
            connection.close()  # no database connection is held while the script runs

            # When the lease we hold runs out, measured on this process's monotonic clock from
            # the moment before the database last renewed it (never compared with the
            # database's time, which this process's clock may be far from).
            held_until = claimed_at + settings.PIPELINE_LEASE_SECONDS

            def heartbeat():
                nonlocal held_until
                asked_at = time.monotonic()
                try:
                    alive = (
                        fenced(item.pk, owner, attempt)
                        .filter(~Exists(cancelled_task(item.task_id)))
                        .update(lease_expires_at=later_expression(settings.PIPELINE_LEASE_SECONDS))
                        == 1
                    )
                    slot.renew()
                except DatabaseError as error:
                    # PostgreSQL restarting or failing over: the lease we hold stays ours until it
                    # expires, so the paid call keeps running; stop only once it has expired
                    # (another worker may then claim the unit).
                    log.warning("heartbeat_database_unavailable", error=str(error)[:300])
                    return time.monotonic() < held_until
                finally:
                    connection.close()
                if alive:
                    held_until = asked_at + settings.PIPELINE_LEASE_SECONDS
                return alive

            if spec.function:
                result = _run_function(spec, task)
            else:
                result = run_script(
                    spec.script,
                    spec.args,
                    extensions=spec.script_extensions,
                    env={**spec.script_env, **env},
                    correlation_id=task.correlation_id,
                    heartbeat=folder.heartbeat(heartbeat),
                    heartbeat_every=min(HEARTBEAT_SECONDS, settings.PIPELINE_LEASE_SECONDS / 3),
                    pidfile=pidfile,
                )
    except UnitBusy as busy:
        log.info("unit_busy", reason=busy.reason)
        _unit_release(item, owner, attempt)
        wait = (busy.until - db_now()).total_seconds() if busy.until else 0
        dispatch.dispatch_unit(item.pk, countdown=max(SLOT_REQUEUE_SECONDS, wait))
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
    result = folder.finish(result)
    return _unit_record_when_database_answers(item, owner, attempt, spec, result)


DATABASE_GONE = (OperationalError, InterfaceError)
DATABASE_POLL_SECONDS = 2


def _database_wait_for_return():
    """Block until the database answers, or PIPELINE_LEASE_SECONDS have passed (then the lease has
    run out anyway and the reconciler takes over); raises the last error in that case."""
    deadline = time.monotonic() + settings.PIPELINE_LEASE_SECONDS
    while True:
        try:
            connection.close()  # a broken connection is not reused
        except DATABASE_GONE:
            pass
        try:
            connection.ensure_connection()
            return
        except DATABASE_GONE:
            if time.monotonic() > deadline:
                raise
        time.sleep(DATABASE_POLL_SECONDS)


def _unit_record_when_database_answers(item, owner, attempt, spec, result):
    """Record the script's result; if the database is down, keep the result (it was paid for) and
    record it when the database is back, unless the unit was recorded or taken meanwhile."""
    while True:
        try:
            return unit_record(item, owner, attempt, spec, result)
        except DATABASE_GONE as error:
            log.warning("unit_record_waits_for_database", error=str(error)[:300])
        _database_wait_for_return()
        if not fenced(item.pk, owner, attempt).exists():
            # Recorded before the connection broke (or taken back): what follows the record
            # (the step's completion) is sent again by the step itself.
            dispatch.dispatch_step(item.task_id, item.step)
            return "stale"


def _unit_give_back(item_id, owner):
    """After a database outage: the unit back to pending if this execution held it, and sent
    again (a pending unit sent twice is claimed once)."""
    released = WorkItem.objects.filter(pk=item_id).leased_to(owner).lease_give_back()
    pending = WorkItem.objects.filter(pk=item_id, state=WorkState.PENDING).exists()
    if released or pending:
        dispatch.dispatch_unit(item_id)
    return "given-back"


def _unit_release(item, owner, attempt):
    fenced(item.pk, owner, attempt).update(
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
    except (UnitDeferred, UnitBusy):
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
