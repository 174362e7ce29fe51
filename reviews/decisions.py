"""Decisions at review gates and the redo that follows a rejection, used by the admin and by
`manage.py review` alike.

The decision is a conditional UPDATE of the task's status (pipeline.transitions): a double click or
two reviewers at once act only once, and the second is told what happened instead.

A rejection that names a step to redo puts the task straight back into production in that step:
the units asked for (every unit of the step when none is named) and everything made from them
are made again, as new attempts of the same work items (attempt numbers never go back, so each
paid call keeps its own cost row), and nothing else. A rejection with notes only stops the task in
the error column of the gate's phase until someone picks the next action: `task_redo` (redo from
a step) or cancel. The final cut a reviewer rejected is kept as rejected/final-<n>.mp4.
"""

import os
from dataclasses import dataclass

from django.db import transaction

from core.audit import audit_log_record
from costs.prices import price
from pipeline import dispatch, paths
from pipeline.fingerprints import units_changed
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.status import (
    ERROR_STATUSES,
    GATE_BY_STATUS,
    GATES,
    PRODUCTION_STEPS,
    STEP_ORDER,
    STEP_STATUSES,
    Status,
)
from pipeline.step_tables import TABLES, redo_units
from pipeline.steps import STEP_BY_NAME
from pipeline.transitions import TransitionConflict, task_transition
from pipeline.upload_guard import final_cut_sha256
from reviews.models import Decision, Review
from reviews.reviewer_checks import VIA_ADMIN, ReviewError, reviewer_check

# The step each gate reviews: a rejection's default redo step, and (by its error status) the
# column a notes-only rejection stops in.
GATE_STEP = TABLES.gate_step
WHAT_MISSING = {"audio": "narration", "sfx": "sfx"}


@dataclass
class RedoPlan:
    """What a redo makes again: {step: [unit, ...]} in pipeline order, from `step` on."""

    step: str
    units: dict
    asked: list  # the units the person named (empty: the whole step)

    def describe(self, attempts):
        """'videos s02 (attempt 2), assembly (attempt 2)' given {(step, unit): next attempt}."""
        parts = []
        for step, units in self.units.items():
            shown = [u for u in units if step != "assembly"]
            numbers = sorted({attempts.get((step, unit), 1) for unit in units})
            attempt = "attempt " + "/".join(str(n) for n in numbers)
            named = f"{step} {', '.join(shown)}" if shown else step
            parts.append(f"{named} ({attempt})")
        return "; ".join(parts)


def review_approve(*, task_id, reviewer, notes="", via=VIA_ADMIN, origin=None):
    return _decide(task_id, Decision.APPROVED, reviewer, notes, "", [], via=via, origin=origin)


def review_reject(
    *,
    task_id,
    reviewer,
    notes="",
    redo_step="",
    redo_scenes=(),
    redo_changed=False,
    via=VIA_ADMIN,
    origin=None,
):
    """Reject at a gate. With redo_step: back into production from that step at once (only the
    named units and what is made from them, or the whole step when none is named). With
    redo_changed: the units whose inputs an edit changed and what is made from them
    (redo_changed_plan). Without either: the task stops in the gate phase's error column with
    the notes, for a person to pick what next."""
    if not notes.strip():
        raise ReviewError("a rejection needs notes: say what is wrong so it can be fixed")
    return _decide(
        task_id,
        Decision.REJECTED,
        reviewer,
        notes,
        redo_step,
        list(redo_scenes),
        redo_changed=redo_changed,
        via=via,
        origin=origin,
    )


def _decide(
    task_id,
    decision,
    reviewer,
    notes,
    redo_step,
    redo_scenes,
    redo_changed=False,
    via=VIA_ADMIN,
    origin=None,
):
    """origin: where a command-line decision was typed (OS user, host), for the audit row."""
    name = reviewer_check(reviewer)
    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    gate = GATE_BY_STATUS.get(Status(task.status))
    if gate is None or task.cancelled_at:
        raise ReviewError(
            f"task {task.pk} is not waiting for review (status {task.status}); nothing was changed"
        )
    ready, approved = GATES[gate]
    plan = None
    if decision == Decision.REJECTED:
        if redo_changed:
            plan = redo_changed_plan(task, allowed=redo_steps(gate))
        elif redo_step:
            plan = redo_plan(task, redo_step, redo_scenes, allowed=redo_steps(gate))
        elif redo_scenes:
            raise ReviewError(
                "redo: name the step to redo the scenes from (e.g. --redo-step videos)"
            )
    # The cut the reviewer saw, fingerprinted: the upload sends only a file with this SHA-256.
    cut_sha256 = final_cut_sha256(task) if gate == "final" else ""
    try:
        with transaction.atomic():
            cut = ""
            if decision == Decision.APPROVED:
                task_transition(task=task, to=approved, expected=ready, reason=notes, actor=name)
            elif plan:
                cut = _redo_start(
                    task, plan, expected=ready, actor=name,
                    why=f"rejected at {gate} by {name}: {notes}",
                )  # fmt: skip
            else:
                error_status = STEP_STATUSES[GATE_STEP[gate]][2]
                stop = f"Rejected at {gate} by {name}: {notes}"
                task_transition(
                    task=task,
                    to=error_status,
                    expected=ready,
                    reason=f"rejected at {gate} by {name}, notes only: {notes}",
                    actor=name,
                    failed_step=GATE_STEP[gate],
                    error_log=(
                        f"{task.error_log}\n{stop}\nNext: redo from a step or cancel "
                        "(review page, or `manage.py review redo` / `cancel_task`)."
                    ).strip()[-20_000:],
                )
                if gate == "final":
                    # The cut stays viewable as the rejected one; any next step assembles anew.
                    cut = _reset_units(task, {"assembly": ["video"]})
            review = Review.objects.create(
                task=task,
                gate=gate,
                decision=decision,
                reviewer=reviewer,
                reviewer_name=name,
                notes=notes,
                redo_step=plan.step if plan else "",
                # What an edit made again is named too, so the record never says "every scene"
                # of a redo that remade one.
                redo_scenes=redo_scenes or (_edited_units(plan) if plan and redo_changed else []),
                rejected_cut=cut,
                cut_sha256=cut_sha256,
                via=via,
            )
            audit_log_record(
                actor=name,
                action=f"review_{decision}",
                task=task,
                notes=notes,
                metadata={
                    "via": via,
                    **(origin or {}),
                    "cut_sha256": cut_sha256,
                    "gate": gate,
                    "redo_step": plan.step if plan else "",
                    "redo_scenes": redo_scenes,
                    "redo_units": plan.units if plan else {},
                    "rejected_cut": cut,
                },
                object_type="review",
                object_id=review.pk,
            )
            if decision == Decision.APPROVED:
                dispatch.dispatch_advance(task.pk)
    except TransitionConflict as conflict:
        raise ReviewError(
            f"task {task.pk} was already decided by someone else; your "
            f"{'approval' if decision == Decision.APPROVED else 'rejection'} was not recorded"
        ) from conflict
    return review


def _edited_units(plan):
    """The units of its first step a redo-what-changed plan makes again ([] for the whole video's
    assembly)."""
    return [] if plan.step == "assembly" else list(plan.units.get(plan.step, []))


def task_redo(*, task_id, actor, step="", units=(), notes="", changed=False):
    """The next action for a task stopped in an error column (a notes-only rejection, or a
    failure): make `units` of `step` again (all of it when none is named) and everything made
    from them, then on to review; with changed=True, what an edit changed instead
    (redo_changed_plan). Returns the plan."""
    actor = getattr(actor, "get_username", lambda: str(actor))()
    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    if task.cancelled_at or task.status not in ERROR_STATUSES or task.status == Status.UPLOAD_ERROR:
        raise ReviewError(
            f"task {task.pk} is {task.get_status_display()}"
            f"{' (cancelled)' if task.cancelled_at else ''}: a redo from a step is for a task "
            "stopped in Asset, Video or Audio Error; at a gate, reject with a redo step instead"
        )
    if changed:
        plan = redo_changed_plan(task, allowed=redo_steps_after_stop(task))
    else:
        plan = redo_plan(task, step, list(units), allowed=redo_steps_after_stop(task))
    try:
        with transaction.atomic():
            why = f"redo asked by {actor}" + (f": {notes}" if notes.strip() else "")
            cut = _redo_start(task, plan, expected=task.status, actor=actor, why=why)
            audit_log_record(
                actor=actor,
                action="task_redo",
                task=task,
                notes=notes,
                metadata={"step": plan.step, "units": plan.units, "rejected_cut": cut},
            )
    except TransitionConflict as conflict:
        raise ReviewError(
            f"task {task.pk} moved meanwhile (someone else acted); the redo was not made"
        ) from conflict
    return plan


def redo_steps(gate):
    """Steps a rejection at `gate` may send the task back to: the gate's own step or an earlier
    one; at the final gate any production step."""
    if gate == "final":
        return list(PRODUCTION_STEPS)
    return STEP_ORDER[: STEP_ORDER.index(GATE_STEP[gate]) + 1]


def redo_steps_after_stop(task):
    """Steps a task stopped in an error column may be redone from: the stopped step or any
    earlier one (after a final rejection, any production step)."""
    stopped = task.failed_step if task.failed_step in PRODUCTION_STEPS else "assembly"
    return list(PRODUCTION_STEPS[: PRODUCTION_STEPS.index(stopped) + 1])


def redo_plan(task, step, units, *, allowed=PRODUCTION_STEPS):
    """The units a redo of `units` of `step` makes again: those (every unit of the step when none
    is named) and everything made from them (asset -> assets made with it as reference ->
    composites -> clips -> assembly; narration or sfx -> assembly), nothing else."""
    if step not in allowed:
        raise ReviewError(f"redo step {step!r}: choose one of {', '.join(allowed)}")
    units = list(dict.fromkeys(units))
    if step == "assembly":
        if units:
            raise ReviewError(
                "redo assembly: it is one unit for the whole video; tick no scene, or redo the "
                "scenes from the step that made what is wrong (e.g. videos)"
            )
        return RedoPlan(step=step, units={"assembly": ["video"]}, asked=[])
    known = [spec.unit for spec in STEP_BY_NAME[step].units(task)]
    scene_ids = [scene["id"] for scene in task.storyboard["scenes"]]
    for unit in units:
        if unit in known:
            continue
        if step in WHAT_MISSING and unit in scene_ids:
            raise ReviewError(f"redo {step}: scene {unit!r} has no {WHAT_MISSING[step]}")
        raise ReviewError(f"redo: unknown {'asset' if step == 'assets' else 'scene'} {unit!r}")
    chosen = units or known
    plan = redo_units(  # and everything made from them (pipeline/step_list.py's made_from)
        task.storyboard, step, chosen, units_of=lambda name: STEP_BY_NAME[name].unit_ids(task)
    )
    ordered = {name: plan[name] for name in STEP_ORDER if plan.get(name)}
    return RedoPlan(step=step, units=ordered, asked=units)


def redo_changed_plan(task, *, allowed=PRODUCTION_STEPS):
    """Redo what changed: the units whose fingerprint differs from the one they were made with
    (pipeline.fingerprints) and everything made from them (redo_plan), nothing else."""
    changed = units_changed(task)
    if not changed:
        raise ReviewError(
            "redo what changed: nothing made so far differs from the storyboard; edit the "
            "storyboard first, or choose the scenes to redo"
        )
    merged = {}
    for step in PRODUCTION_STEPS:
        units = [unit for changed_step, unit in changed if changed_step == step]
        if not units:
            continue
        part = redo_plan(task, step, [] if step == "assembly" else units)
        for name, names in part.units.items():
            merged[name] = list(dict.fromkeys([*merged.get(name, []), *names]))
    first = next(step for step in PRODUCTION_STEPS if step in merged)
    if first not in allowed:
        raise ReviewError(
            f"redo what changed: the edit changes {first} ({', '.join(merged[first])}), which "
            f"cannot be redone from here (allowed: {', '.join(allowed)})"
        )
    ordered = {name: merged[name] for name in STEP_ORDER if merged.get(name)}
    return RedoPlan(step=first, units=ordered, asked=[f"{step} {unit}" for step, unit in changed])


def redo_estimate_usd(task, plan):
    """What the redo's paid calls are expected to cost (the price table, the units' estimates)."""
    total = 0
    for step, units in plan.units.items():
        for spec in STEP_BY_NAME[step].units(task):
            if spec.unit in units:
                total += price(provider=spec.provider, usage=spec.estimate)[2]
    return total


def _redo_start(task, plan, *, expected, actor, why):
    """Move the task into the redo step's running status, reset the plan's units and send the
    step. Returns the kept rejected cut (relative path) or ""."""
    next_attempts = {
        (step, unit): attempts + 1
        for step, unit, attempts in WorkItem.objects.filter(task=task).values_list(
            "step", "unit", "attempts"
        )
    }
    estimate = redo_estimate_usd(task, plan)
    asked = ", ".join(plan.asked) if plan.asked else "every unit"
    reason = (
        f"{why}\nredo from {plan.step} ({asked}): {plan.describe(next_attempts)}; "
        f"estimated ${estimate:.2f}"
    )
    task_transition(
        task=task,
        to=STEP_STATUSES[plan.step][0],
        expected=expected,
        reason=reason,
        actor=actor,
        failed_step="",
        waiting_reason="",
        next_attempt_at=None,
    )
    cut = _reset_units(task, plan.units)
    # Units that failed (the reason a task stopped) from the redo step on get a new round too,
    # or their step could never finish.
    later = STEP_ORDER[STEP_ORDER.index(plan.step) :]
    WorkItem.objects.filter(task=task, step__in=later, state=WorkState.FAILED).new_round()
    dispatch.dispatch_step(task.pk, plan.step)
    return cut


def _reset_units(task, units_by_step):
    """Make these units due again, as new attempts of their work items (the attempt counter is
    never reset: the retry budget restarts from retry_base). Their outputs are removed once the
    decision commits, so no run finds the old file and takes it as done; a final cut is kept as
    the next rejected/final-<n>.mp4. Returns that cut's path relative to the workspace, or ""."""
    channel_id, task_id = task.channel_id, str(task.pk)
    removals, cut = [], ""
    for step, units in units_by_step.items():
        WorkItem.objects.filter(task=task, step=step, unit__in=units).new_round()
        for unit in units:
            output = paths.ensure_inside_workspace(STEP_BY_NAME[step].output(task, unit))
            if step == "assembly":
                if output.exists():
                    number = len(paths.rejected_cuts(channel_id, task_id)) + 1
                    target = paths.rejected_cut(channel_id, task_id, number)
                    cut = target.relative_to(paths.workspace_root()).as_posix()
                    removals.append((output, target))
            else:
                removals.append((output, None))

    def move_outputs():
        for output, keep_as in removals:
            if keep_as is None:
                output.unlink(missing_ok=True)
            elif output.exists():
                keep_as.parent.mkdir(parents=True, exist_ok=True)
                os.replace(output, keep_as)

    transaction.on_commit(move_outputs)
    return cut
