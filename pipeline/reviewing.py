"""Decisions at review gates, used by the admin and by `manage.py review` alike.

The decision is a conditional UPDATE of the task's status (pipeline.transitions): a double click or
two reviewers at once act only once, and the second is told what happened instead."""

from django.db import transaction

from pipeline import dispatch, paths
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.status import GATE_BY_STATUS, GATES, STEP_ORDER, STEP_STATUSES, Status
from pipeline.steps import STEP_BY_NAME
from pipeline.transitions import TransitionConflict, task_transition
from reviews.models import Decision, Review
from reviews.services import audit_log_record

# The step a rejection at each gate sends the task back to, unless the reviewer names one.
GATE_STEP = {"assets": "assets", "video": "videos", "audio": "audio", "final": "assembly"}
SCENE_STEPS = ("composites", "videos", "audio", "sfx")


class ReviewError(Exception):
    """The decision cannot be made; the message says why and nothing was changed."""


def _reviewer_name(reviewer, reviewer_name):
    name = reviewer_name or (reviewer.get_username() if reviewer else "")
    if not name:
        raise ReviewError("a review needs a reviewer name")
    return name


def review_approve(*, task_id, reviewer=None, reviewer_name="", notes=""):
    return _decide(task_id, Decision.APPROVED, reviewer, reviewer_name, notes, "", [])


def review_reject(
    *, task_id, reviewer=None, reviewer_name="", notes="", redo_step="", redo_scenes=()
):
    if not notes.strip():
        raise ReviewError("a rejection needs notes: say what is wrong so it can be fixed")
    return _decide(
        task_id, Decision.REJECTED, reviewer, reviewer_name, notes, redo_step, list(redo_scenes)
    )


def _decide(task_id, decision, reviewer, reviewer_name, notes, redo_step, redo_scenes):
    name = _reviewer_name(reviewer, reviewer_name)
    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    gate = GATE_BY_STATUS.get(Status(task.status))
    if gate is None or task.cancelled_at:
        raise ReviewError(
            f"task {task.pk} is not waiting for review (status {task.status}); nothing was changed"
        )
    ready, approved = GATES[gate]
    if decision == Decision.REJECTED:
        redo_step = redo_step or GATE_STEP[gate]
        _check_redo(task, gate, redo_step, redo_scenes)
    try:
        with transaction.atomic():
            if decision == Decision.APPROVED:
                task_transition(task=task, to=approved, expected=ready, reason=notes, actor=name)
            else:
                error_status = STEP_STATUSES[redo_step][2]
                task_transition(
                    task=task,
                    to=error_status,
                    expected=ready,
                    reason=f"rejected at {gate}: {notes}",
                    actor=name,
                    failed_step=redo_step,
                    error_log=f"{task.error_log}\nRejected at {gate} by {name}: {notes}".strip(),
                )
                _reset_for_redo(task, redo_step, redo_scenes)
            review = Review.objects.create(
                task=task,
                gate=gate,
                decision=decision,
                reviewer=reviewer,
                reviewer_name=name,
                notes=notes,
                redo_step=redo_step,
                redo_scenes=redo_scenes,
            )
            audit_log_record(
                actor=name,
                action=f"review_{decision}",
                task=task,
                notes=notes,
                metadata={"gate": gate, "redo_step": redo_step, "redo_scenes": redo_scenes},
                object_type="review",
                object_id=review.pk,
            )
            if decision == Decision.APPROVED:
                dispatch.dispatch_advance(task.pk)
    except TransitionConflict as conflict:
        raise ReviewError(
            f"task {task.pk} was already decided by someone else; your {decision} was not recorded"
        ) from conflict
    return review


def redo_steps(gate):
    """Steps a rejection at `gate` may send the task back to: the gate's own step or an earlier
    one; at the final gate any production step."""
    if gate == "final":
        return STEP_ORDER[:-1]
    return STEP_ORDER[: STEP_ORDER.index(GATE_STEP[gate]) + 1]


def _check_redo(task, gate, redo_step, redo_scenes):
    allowed = redo_steps(gate)
    if redo_step not in allowed:
        raise ReviewError(f"redo step {redo_step!r}: choose one of {', '.join(allowed)}")
    scene_ids = {scene["id"] for scene in task.storyboard["scenes"]}
    asset_ids = {asset["id"] for asset in task.storyboard["assets"]}
    known = asset_ids if redo_step == "assets" else scene_ids
    unknown = [unit for unit in redo_scenes if unit not in known]
    if unknown:
        raise ReviewError(
            f"redo: unknown {'asset' if redo_step == 'assets' else 'scene'} {unknown[0]!r}"
        )


def _reset_for_redo(task, redo_step, units):
    """Only the named units are made (and paid for) again, from redo_step on; their later outputs
    and the final assembly follow, since they were made from what is being redone."""
    if not units:
        return
    scenes = set(units)
    if redo_step == "assets":
        scenes = {
            scene["id"]
            for scene in task.storyboard["scenes"]
            if set((scene.get("composite") or {}).values()) & set(units)
            or set(scene.get("split") or []) & set(units)
        }
        _reset_items(task, "assets", set(units))
    start = STEP_ORDER.index(redo_step)
    for step in SCENE_STEPS:
        if STEP_ORDER.index(step) >= start:
            _reset_items(task, step, scenes)
    _reset_items(task, "assembly", {"video"})


def _reset_items(task, step, units):
    for item in WorkItem.objects.filter(task=task, step=step, unit__in=units):
        output = STEP_BY_NAME[step].output(task, item.unit)
        output = paths.ensure_inside_workspace(output)
        output.unlink(missing_ok=True)
    WorkItem.objects.filter(task=task, step=step, unit__in=units).update(
        state=WorkState.PENDING,
        attempts=0,
        next_attempt_at=None,
        lease_owner="",
        lease_expires_at=None,
    )
