"""A ninth step, as a new step is added: its declaration (here), its script (the fake
polish_clip.py) and a migration for its statuses (ninth_step_migration, for a test database).
"Polish" is a no-op local pass over each clip, between videos and audio."""

from contextlib import contextmanager

# Only the Django-free list here: a worker imports this module before anything derives tables.
from pipeline.step_list import VIDEO_ERROR, Column, StepDeclaration

POLISH = StepDeclaration(
    name="polish",
    working=Column("polishing", "Polishing"),
    ready=Column("polished", "Polished"),
    error=VIDEO_ERROR,
    scripts={"polish_clip": 120},
    output=("polished", ".mp4"),
    made_from=("videos",),
    component="composite",
)


def with_polish(steps):
    """The list of steps with Polish declared after videos."""
    after = [step.name for step in steps].index("videos") + 1
    return [*steps[:after], POLISH, *steps[after:]]


def install():
    """Declare Polish in this process, before anything derives the tables from the list (a
    worker's first statement, ahead of Django and Celery)."""
    import sys

    from pipeline import step_list

    assert "pipeline.step_tables" not in sys.modules, "install() must run before the tables"
    step_list.STEPS[:] = with_polish(step_list.STEPS)


def _checks(tables):
    """The database checks the list of steps decides (pipeline.models), for these tables."""
    from django.db import models

    from pipeline.models import VideoTask, WorkItem

    statuses = [column.value for column in tables.columns]
    return [
        (VideoTask, "task_status_valid", models.Q(status__in=statuses)),
        (
            VideoTask,
            "task_failed_step_valid",
            models.Q(failed_step="") | models.Q(failed_step__in=tables.step_order),
        ),
        (WorkItem, "work_item_step_valid", models.Q(step__in=tables.work_steps)),
    ]


def _replace_checks(tables):
    from django.db import connection, models

    with connection.schema_editor() as editor:
        for model, name, condition in _checks(tables):
            check = models.CheckConstraint(condition=condition, name=name)
            editor.remove_constraint(model, check)  # by its name
            editor.add_constraint(model, check)


@contextmanager
def ninth_step_migration():
    """What Polish's migration does to the test database (its statuses and step name allowed),
    undone afterwards so the next test finds the schema the migrations made."""
    from pipeline import step_list
    from pipeline.step_tables import tables_from

    _replace_checks(tables_from(with_polish(step_list.STEPS)))
    try:
        yield
    finally:
        _replace_checks(tables_from(step_list.STEPS))
