"""Celery tasks: thin. Each takes ids (JSON), calls a service, returns nothing of interest.

All of them may be delivered more than once (acks late, Redis redelivery, the reconciler):
the services are no-ops when their work is already done."""

from celery import shared_task

from pipeline import reconcile as reconcile_service
from pipeline import retention, services, units


@shared_task(name="pipeline.schedule")
def schedule():
    services.tasks_schedule()


@shared_task(name="pipeline.start_task")
def start_task(task_id):
    services.task_start(task_id)


@shared_task(name="pipeline.run_step")
def run_step(task_id, step):
    services.step_run(task_id, step)


@shared_task(name="pipeline.run_unit")
def run_unit(item_id):
    units.unit_run(item_id)


@shared_task(name="pipeline.advance_task")
def advance_task(task_id):
    services.task_advance(task_id)


@shared_task(name="pipeline.reconcile")
def reconcile():
    reconcile_service.pipeline_reconcile()


@shared_task(name="pipeline.media_prune")
def media_prune():
    retention.media_prune()
