"""Recording a unit's result (pipeline/units.py runs it): only while the lease is still the
current one (fencing), together with the VideoCost of the call; then the units waiting on it are
sent, the step completes when its last unit is done, or the unit retries with backoff or stops
the task in its step's error column."""

import datetime as dt
import random

import structlog
from django.conf import settings
from django.db import (
    transaction,
)
from django.db.models import F
from django.utils import timezone

from core.alerts import alert_send
from costs.models import CostOutcome, VideoCost
from costs.services import video_cost_record, video_cost_record_failed
from pipeline import dispatch, drafting
from pipeline.clock import later_expression, now_expression
from pipeline.fingerprints import unit_fingerprint
from pipeline.media import output_valid
from pipeline.models import (
    LOCAL_VIDEO_ID_PREFIX,
    Upload,
    UploadState,
    Video,
    WorkItem,
    WorkState,
)
from pipeline.runner import Outcome, ScriptResult
from pipeline.services import step_complete_if_done
from pipeline.status import DRAFT_STEP, STEP_STATUSES, Status
from pipeline.steps import (
    STEP_BY_NAME,
)
from pipeline.transitions import (
    TransitionConflict,
    error_log_append,
    notify_task_changed,
    task_transition,
)

log = structlog.get_logger(__name__)

S = Status


def fenced(item_id, owner, attempt):
    return WorkItem.objects.filter(pk=item_id).leased_to(owner, attempt)


def units_not_done(task_id, step_name, units):
    if not units:
        return False
    return (
        WorkItem.objects.filter(task_id=task_id, step=step_name, unit__in=units)
        .exclude(state=WorkState.DONE)
        .exists()
    )


def _dispatch_dependents(item, step):
    """Send the units of the step that were waiting for this one and now have all they need."""
    if not step.ordered:
        return  # spares every other step's units a rebuild of its whole unit list
    waiting = [spec for spec in step.units(item.task) if item.unit in spec.after]
    if not waiting:
        return
    items = WorkItem.objects.filter(
        task_id=item.task_id, step=item.step, unit__in=[spec.unit for spec in waiting]
    ).exclude(state=WorkState.DONE)
    by_unit = {pending.unit: pending for pending in items}
    for spec in waiting:
        if spec.unit in by_unit and not units_not_done(item.task_id, item.step, spec.after):
            dispatch.dispatch_unit(by_unit[spec.unit].pk)


def unit_record(item, owner, attempt, spec, result):
    if result.ok and not output_valid(spec.output):
        result = ScriptResult(
            script=result.script,
            exit_code=result.exit_code,
            outcome=Outcome.UNKNOWN,
            error=f"{result.script} exited 0 but {spec.output} is missing or not valid media",
        )
    if result.ok:
        unit_done(item, owner, attempt, spec, result)
        return "done"
    # A script that failed after the provider charged says so ("paid": true): book it as wasted.
    video_cost_record_failed(
        work_item=item,
        attempt=attempt,
        component=STEP_BY_NAME[item.step].component,
        provider=spec.provider,
        stderr=result.stderr_tail,
    )
    retry = result.retriable and attempt - item.retry_base < settings.PIPELINE_MAX_ATTEMPTS
    unit_fail(item, owner, attempt, result, final=not retry)
    return "retry" if retry else "failed"


def _output_uncosted(item, spec):
    """The output exists but no cost row stands for it: a run completed (and was paid) but its
    worker died, or the database was down, before it could record the result."""
    if not spec.script:
        return False
    written = dt.datetime.fromtimestamp(spec.output.stat().st_mtime, tz=dt.UTC)
    # Cost rows are written seconds after the file; allow for clocks of other machines.
    recorded_since = written - dt.timedelta(minutes=2)
    return (
        not VideoCost.objects.filter(work_item=item, created_at__gte=recorded_since)
        .exclude(outcome=CostOutcome.FAILED)
        .exists()
    )


def unit_done(item, owner, attempt, spec, result):
    """Record success (fenced) and, for a completed call, its cost. A call that completed is
    costed even when its lease was lost meanwhile: it was paid for. An output found in place
    without a cost row (its run was never recorded) is costed at the estimate."""
    step = STEP_BY_NAME[item.step]
    recovered = result is None and _output_uncosted(item, spec)
    if recovered:
        result = ScriptResult(script=spec.script, exit_code=0, outcome=Outcome.OK)
    usage = (result.usage if result and result.json_line else spec.estimate) if result else {}
    fingerprint = unit_fingerprint(item.task, item.step, item.unit)
    with transaction.atomic():
        current = fenced(item.pk, owner, attempt).update(
            state=WorkState.DONE,
            fingerprint=fingerprint,
            usage=usage,
            exit_code=result.exit_code if result else None,
            error="",
            calls=F("calls") + (1 if result else 0),
            finished_at=now_expression(),
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
        if item.provider == "local":
            _local_upload_record(item, spec)
        _upload_record(item.task_id, result)
    _dispatch_dependents(item, step)
    if item.step == DRAFT_STEP:
        drafting.draft_complete(item.task_id)  # the task stays in Draft
    else:
        step_complete_if_done(item.task_id, item.step)


def _upload_record(task_id, result):
    url = ""
    if result and result.outputs:
        url = str(result.outputs[0])
    Video.objects.filter(task_id=task_id).update(published_at=timezone.now())
    if result and result.usage.get("uploaded_sha256"):
        # What was sent, beside the video id: the compliance trail's proof it was the approved
        # cut, with the declarations it carried.
        Upload.objects.filter(task_id=task_id).update(
            sha256=result.usage["uploaded_sha256"], disclosure=result.usage.get("disclosure", {})
        )
    if result and result.usage.get("youtube_video_id"):
        Video.objects.filter(task_id=task_id).update(
            youtube_video_id=result.usage["youtube_video_id"], youtube_url=url
        )


def _local_upload_record(item, spec):
    """The local upload provider's publish, in the Uploads list like a YouTube upload."""
    size = spec.output.stat().st_size if spec.output.exists() else 0
    Upload.objects.update_or_create(
        task_id=item.task_id,
        defaults={
            "state": UploadState.DONE,
            "quota_project": "local",
            "video_id": f"{LOCAL_VIDEO_ID_PREFIX}{item.task_id.hex[:26]}",
            "total_bytes": size,
            "bytes_confirmed": size,
            "attempts": item.attempts,
        },
    )


def backoff_seconds(attempt):
    """Exponential backoff with jitter: base * 2^(attempt-1), capped, times 0.5-1.5."""
    base = settings.PIPELINE_RETRY_BACKOFF_BASE * (2 ** max(attempt - 1, 0))
    return min(settings.PIPELINE_RETRY_BACKOFF_MAX, base) * (0.5 + random.random())  # noqa: S311


def retry_delay_seconds(result, attempt):
    """Seconds before a failed unit's next attempt: our backoff, or the wait the service asked
    for (a 429's Retry-After or RetryInfo, in the script's error line) when that is longer.
    The ask is held to PIPELINE_RETRY_BACKOFF_MAX, the longest countdown the broker's
    visibility timeout is sized for (a longer one would be redelivered early)."""
    asked = min(result.retry_after or 0.0, settings.PIPELINE_RETRY_BACKOFF_MAX)
    return max(backoff_seconds(attempt), asked)


def _where(item):
    kind = {"assets": "asset", DRAFT_STEP: "unit"}.get(item.step, "scene")
    return f"step {item.step}, {kind} {item.unit}"


def unit_fail(item, owner, attempt, result, *, final, message=None):
    task = item.task
    message = message or (
        f"{_where(item)}: {result.script} exited {result.exit_code} ({result.outcome.value}) "
        f"on attempt {attempt}: {result.error or 'no message'}"
    )
    if not final:
        delay = retry_delay_seconds(result, attempt - item.retry_base)
        updated = fenced(item.pk, owner, attempt).update(
            state=WorkState.PENDING,
            error=message,
            exit_code=result.exit_code,
            lease_owner="",
            lease_expires_at=None,
            next_attempt_at=later_expression(delay),
        )
        if updated:
            log.warning("unit_retry", error=message, delay=round(delay, 2))
            dispatch.dispatch_unit(item.pk, countdown=delay)
        return
    with transaction.atomic():
        updated = fenced(item.pk, owner, attempt).update(
            state=WorkState.FAILED,
            error=message,
            exit_code=result.exit_code,
            lease_owner="",
            lease_expires_at=None,
            finished_at=now_expression(),
        )
        if not updated:
            return
        if item.step == DRAFT_STEP:
            drafting.draft_stopped(task, message)
            return
        task.refresh_from_db()
        _task_stop(task, item, message, alert_key=f"unit-failed:{item.pk}:{attempt}")
    log.error("unit_failed", error=message)


def _task_stop(task, item, message, *, alert_key):
    """The task into its step's error column with the message, and the ERROR alert in the same
    transaction as the stop: a crash cannot leave a stopped task unannounced."""
    running, _, error_status = STEP_STATUSES[item.step]
    try:
        task_transition(
            task=task,
            to=error_status,
            expected=running,
            reason=message[:1000],
            failed_step=item.step,
            error_log=error_log_append(task.error_log, message),
        )
    except TransitionConflict:
        return  # another unit of this step already stopped the task
    alert_send(
        level="ERROR",
        title=f"{task.channel_id}: '{task.title}' stopped in {item.step}",
        message=message,
        key=alert_key,
        fields={"task": str(task.pk), "status": error_status},
    )


def unit_stop_unexpected(item_id, owner, error):
    """Stop a unit whose run raised something no step expects (a database constraint, a bug):
    the unit fails and its task goes to the step's error column with the message, now."""
    text = f"{type(error).__name__}: {error}".strip()[:2000]
    item = WorkItem.objects.select_related("task__channel").filter(pk=item_id).first()
    if item is None:
        return
    message = f"{_where(item)}: unexpected error on attempt {item.attempts}: {text}"
    if item.state == WorkState.RUNNING and item.lease_owner == owner:
        result = ScriptResult(script=item.script, exit_code=-1, outcome=Outcome.UNKNOWN, error=text)
        unit_fail(item, owner, item.attempts, result, final=True, message=message)
        return
    if item.state == WorkState.RUNNING:
        return  # another execution holds the unit; it records its own outcome
    # The unit was recorded (or never claimed) and moving its task on failed: stop the task, so
    # it does not sit in the running column with nothing running.
    task = item.task
    if item.step == DRAFT_STEP:
        if task.status == S.DRAFT and not task.cancelled_at:
            drafting.draft_stopped(task, message)
        return
    running, _, _ = STEP_STATUSES[item.step]
    if task.status != running or task.cancelled_at:
        return
    with transaction.atomic():
        _task_stop(task, item, message, alert_key=f"unit-unexpected:{item.pk}:{item.attempts}")
