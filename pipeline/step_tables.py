"""The tables derived from the list of steps (pipeline/step_list.py): the statuses in board order,
the one table of allowed transitions, the gates, what comes after a status, each step's output
folder, the scripts and their default timeouts, and the redo graph. pipeline.status,
pipeline.services, pipeline.paths, reviews.decisions, settings and doctor read them from TABLES;
tables_from() derives them for any list (a test's step list with a ninth step, say).

Plain Python, no Django: settings read the scripts' timeouts here."""

from dataclasses import dataclass

from pipeline import step_list
from pipeline.step_list import Column

# Before production, whatever the steps: a task is drafted, queued, then claimed by a scheduler.
DRAFT = Column("draft", "Draft")
QUEUED = Column("queued", "Queued")
CLAIMED = Column("claimed", "Claimed")


@dataclass(frozen=True)
class StepTables:
    columns: tuple  # every status as a Column, in board order
    step_order: tuple  # the steps after drafting, in pipeline order
    production_steps: tuple  # the steps up to the final gate: a redo may go back to these
    draft_step: str
    work_steps: tuple  # every step a unit of work may belong to
    step_statuses: dict  # {step: (working, ready, error)}
    unit_running_status: dict  # {step: the status its task is in while its units run}
    gates: dict  # {gate: (the status a task waits in, the status approval moves it to)}
    optional_gates: tuple  # gates a channel opts in to
    gate_step: dict  # {gate: the step it reviews}
    error_statuses: frozenset
    gate_statuses: frozenset
    running_statuses: frozenset  # in production: counted against the videos in flight
    redo_targets: frozenset  # the working statuses a redo may send a task back to
    transitions: dict  # {status: {statuses it may move to}}
    next_step: dict  # {status where a step is done or a gate passed: the step that follows}
    step_outputs: dict  # {step: (folder, extension)}
    pipeline_scripts: dict  # {script: default timeout in seconds}, in the order a video uses them


def _final_gate_index(steps):
    for index, step in enumerate(steps):
        if step.gate and not step.gate.optional:
            return index
    raise ValueError("the list of steps needs one step with the final (non-optional) gate")


def tables_from(steps, draft=step_list.DRAFT):
    """Every derived table for this list of steps (after drafting, in pipeline order)."""
    final = _final_gate_index(steps)
    production, publishing = steps[: final + 1], steps[final + 1 :]
    final_gate = steps[final].gate

    columns, errors = [DRAFT, QUEUED, CLAIMED], []
    for step in steps:
        columns += [step.working, step.ready]
        if step.gate:
            columns += [column for column in (step.gate.review, step.gate.approved) if column]
        if step.error not in errors:
            errors.append(step.error)
    columns += errors
    values = [column.value for column in columns]
    duplicated = sorted({value for value in values if values.count(value) > 1})
    if duplicated:
        raise ValueError(f"statuses declared twice in the list of steps: {duplicated}")

    redo_targets = frozenset(step.working.value for step in production)
    transitions = {
        DRAFT.value: {QUEUED.value},
        QUEUED.value: {CLAIMED.value, DRAFT.value},
        CLAIMED.value: {steps[0].working.value, QUEUED.value},
    }
    next_step = {}
    running = {CLAIMED.value}
    for index, step in enumerate(production):
        following = steps[index + 1]
        working, ready, error = step.working.value, step.ready.value, step.error.value
        transitions[working] = {ready, error}
        running.add(working)
        if step.gate and step.gate.optional:
            # At a channel's gate: approve, pass (gate off), stop with notes, or redo this step
            # or an earlier one.
            earlier = {done.working.value for done in production[: index + 1]}
            approved = step.gate.approved.value
            transitions[ready] = {approved, following.working.value, error, *earlier}
            transitions[approved] = {following.working.value}
            next_step[ready] = next_step[approved] = following.name
            running.add(approved)
        elif step.gate:
            # The final review: approve, stop with notes (the step's error), or redo any step.
            review, approved = step.gate.review.value, step.gate.approved.value
            transitions[ready] = {review}
            transitions[review] = {approved, error, *redo_targets}
            transitions[approved] = {following.working.value}
            next_step[approved] = following.name
            running.add(ready)
        else:
            transitions[ready] = {following.working.value}
            next_step[ready] = following.name
            running.add(ready)
    approved = final_gate.approved.value
    for index, step in enumerate(publishing):
        working, ready, error = step.working.value, step.ready.value, step.error.value
        # A publishing step may fail from the approved column, and goes back there when it is
        # deferred (the next quota reset); from its error it is retried or sent back to wait.
        transitions[approved] |= {error}
        transitions[working] = {ready, error, approved}
        transitions[error] = {approved, working}
        running.add(working)
        if index + 1 < len(publishing):
            transitions[ready] = {publishing[index + 1].working.value}
            next_step[ready] = publishing[index + 1].name
        else:
            transitions[ready] = set()
    for step in production:
        # From an error, back to the failed phase (retry) or to any production step (redo).
        transitions[step.error.value] = set(redo_targets)

    gated = [step for step in steps if step.gate]
    return StepTables(
        columns=tuple(columns),
        step_order=tuple(step.name for step in steps),
        production_steps=tuple(step.name for step in production),
        draft_step=draft.name,
        work_steps=(draft.name, *(step.name for step in steps)),
        step_statuses={
            step.name: (step.working.value, step.ready.value, step.error.value) for step in steps
        },
        unit_running_status={
            draft.name: DRAFT.value,
            **{step.name: step.working.value for step in steps},
        },
        gates={
            step.gate.name: ((step.gate.review or step.ready).value, step.gate.approved.value)
            for step in gated
        },
        optional_gates=tuple(step.gate.name for step in gated if step.gate.optional),
        gate_step={step.gate.name: step.name for step in gated},
        error_statuses=frozenset(column.value for column in errors),
        gate_statuses=frozenset((step.gate.review or step.ready).value for step in gated),
        running_statuses=frozenset(running),
        redo_targets=redo_targets,
        transitions=transitions,
        next_step=next_step,
        step_outputs={step.name: step.output for step in steps if step.output},
        pipeline_scripts={
            name: seconds for step in [draft, *steps] for name, seconds in step.scripts.items()
        },
    )


TABLES = tables_from(step_list.STEPS)


# --- The redo graph ------------------------------------------------------------------------------


def scene_assets(scene):
    """The asset ids a scene's composite or split screen is made from."""
    return set((scene.get("composite") or {}).values()) | set(scene.get("split") or [])


def _assets_with_references(storyboard, chosen):
    """The chosen assets and every asset made with one of them as its reference, in storyboard
    order."""
    remade = set(chosen)
    grew = True
    while grew:
        before = len(remade)
        remade |= {a["id"] for a in storyboard["assets"] if a.get("reference") in remade}
        grew = len(remade) != before
    return [asset["id"] for asset in storyboard["assets"] if asset["id"] in remade]


def _units_made_from(storyboard, source_kind, units, target_kind):
    if target_kind == "video":
        return {"video"}
    if target_kind == "scene" and source_kind == "asset":
        return {s["id"] for s in storyboard["scenes"] if scene_assets(s) & set(units)}
    if target_kind == "scene" and source_kind == "scene":
        return set(units)
    return {scene["id"] for scene in storyboard["scenes"]}  # from the whole video: every scene


def redo_units(storyboard, step, chosen, *, units_of, steps=None):
    """{step: [unit, ...]} that a redo of the `chosen` units of `step` makes again: those (with an
    asset, the assets made with it as their reference) and, along each step's made_from,
    everything made from them up to the final gate, in pipeline order. units_of(step) gives the
    units a step has for this task (a scene without narration has no audio unit)."""
    declarations = list(step_list.STEPS if steps is None else steps)
    by_name = {declared.name: declared for declared in declarations}
    production = declarations[: _final_gate_index(declarations) + 1]
    first = [declared.name for declared in production].index(step)
    if by_name[step].unit == "asset":
        chosen = _assets_with_references(storyboard, chosen)
    plan = {step: list(chosen)}
    for later in production[first + 1 :]:
        made = set()
        for source in later.made_from:
            if plan.get(source):
                kind = by_name[source].unit
                made |= _units_made_from(storyboard, kind, plan[source], later.unit)
        if made:
            plan[later.name] = [unit for unit in units_of(later.name) if unit in made]
    return {name: units for name, units in plan.items() if units}
