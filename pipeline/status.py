"""The task status machine as Django sees it: the statuses (one per Notion board column, in board
order), the one table of allowed transitions, the gates, and the coarse lifecycle groups used for
filters and reports. All but the lifecycle groups are derived from the list of steps
(pipeline/step_list.py, through pipeline/step_tables.py); nothing else decides them."""

from django.db import models

from pipeline.step_tables import TABLES

# value, Notion option name (the board column), in board order: from the list of steps
# (pipeline/step_list.py), so a new step's columns appear here by its declaration alone.
Status = models.TextChoices(
    "Status",
    [(column.value.upper(), (column.value, column.label)) for column in TABLES.columns],
)
S = Status
BOARD_COLUMNS = [status.label for status in Status]  # the Notion Status options, in order


def _statuses(values):
    return frozenset(Status(value) for value in values)


ERROR_STATUSES = _statuses(TABLES.error_statuses)
GATE_STATUSES = _statuses(TABLES.gate_statuses)
RUNNING_STATUSES = _statuses(TABLES.running_statuses)

# Gates: the status where a task waits for a reviewer, and the approved status it moves to.
GATES = {gate: (S(ready), S(approved)) for gate, (ready, approved) in TABLES.gates.items()}
OPTIONAL_GATES = TABLES.optional_gates
GATE_BY_STATUS = {ready: gate for gate, (ready, _) in GATES.items()}

# Steps (pipeline order) with their running status, done status and error status.
STEP_STATUSES = {
    step: tuple(S(value) for value in statuses) for step, statuses in TABLES.step_statuses.items()
}
STEP_ORDER = list(TABLES.step_order)

# Drafting (step 0, the writers' room) is a unit of work too, but not a production step: it runs
# while its task is in Draft and leaves it there (pipeline/drafting.py), so it has no running,
# done or error status of its own and is not in STEP_ORDER.
DRAFT_STEP = TABLES.draft_step
WORK_STEPS = list(TABLES.work_steps)  # every step a WorkItem may belong to
# The status a unit's task must be in for the unit to run.
UNIT_RUNNING_STATUS = {step: S(value) for step, value in TABLES.unit_running_status.items()}

# Coarse lifecycle (the architecture document's words) as a grouping, for filters and reports.
LIFECYCLE_GROUPS = {
    "pending": {S.DRAFT, S.QUEUED},
    "claimed": {S.CLAIMED},
    "processing": RUNNING_STATUSES - {S.CLAIMED},
    "awaiting_review": set(GATE_STATUSES),
    "approved": {S.APPROVED},
    "completed": {S.PUBLISHED},
    "failed": set(ERROR_STATUSES),
}
GROUP_BY_STATUS = {
    status: group for group, members in LIFECYCLE_GROUPS.items() for status in members
}

# A redo (a rejection that names a step, or the redo action on a stopped task) goes straight back
# into production in the named step's running status.
PRODUCTION_STEPS = TABLES.production_steps
REDO_TARGETS = _statuses(TABLES.redo_targets)

# The one table of allowed transitions (pipeline.step_tables derives it from the steps).
TRANSITIONS = {
    S(status): {S(target) for target in targets} for status, targets in TABLES.transitions.items()
}

assert set(TRANSITIONS) == set(Status), "every status needs a row in TRANSITIONS"


class IllegalTransition(Exception):
    def __init__(self, task_id, current, target):
        self.task_id, self.current, self.target = task_id, current, target
        allowed = ", ".join(sorted(TRANSITIONS[Status(current)])) or "nothing (final)"
        super().__init__(
            f"task {task_id}: cannot move from {current} to {target}; "
            f"from {current} it may go to {allowed}"
        )


def can_transition(current, target):
    return Status(target) in TRANSITIONS[Status(current)]


def board_column(status):
    """The Notion Status option name for a status."""
    return Status(status).label


def status_for_column(column_name):
    for status in Status:
        if status.label == column_name:
            return status
    raise ValueError(f"unknown board column {column_name!r}; expected one of {BOARD_COLUMNS}")


def lifecycle_group(status):
    return GROUP_BY_STATUS[Status(status)]
