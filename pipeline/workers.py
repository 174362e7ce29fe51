"""Workers as the rest of the machinery sees them: who holds a lease, and noticing within about
a minute that one of them has died.

Every lease a worker takes is named after the worker process that took it (worker_identity():
`<instance>/<thread>:<nonce>`), and every worker process records a heartbeat (pipeline/watchdog.py,
one Heartbeat row per Celery node name, holding the instance). A worker killed with SIGKILL, or
cut off from the database, stops heartbeating; units_take_back_from_lost_workers() then gives its
running units back (pending, their provider slots freed, each sent again) without waiting for
their 15-minute lease, and raises an alert naming the worker and the units. If that worker comes
back, its heartbeat renewals and its result are fenced off (the lease is no longer its), so it
stops its script group and records nothing.

A live worker must never be taken for a dead one, or its paid call would be made twice. So a
worker is lost only when another worker has been writing its own heartbeat without a break for
the whole window (WORKER_LOST_SECONDS) while the lost one wrote none: a database that was down
for everyone (every heartbeat paused) never makes a live worker look lost. All times are the
database's (pipeline/clock.py).
"""

import datetime as dt
import os
import socket
import threading
import uuid

import structlog
from django.conf import settings
from django.db import DatabaseError, transaction

from core.alerts import alert_send
from pipeline import dispatch, limits
from pipeline.clock import db_now
from pipeline.models import Heartbeat, WorkerStart, WorkItem, WorkState

log = structlog.get_logger(__name__)

_instance = None


def worker_instance_start():
    """Name this worker process (called once by its main process, before a prefork pool forks, so
    its children hold leases under the same name as the heartbeat)."""
    global _instance
    _instance = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return _instance


def worker_start_record(*, hostname):
    """Count this start of the worker named hostname (the watchdog's restart-loop alarm)."""
    try:
        WorkerStart.objects.create(
            hostname=hostname, instance=worker_instance(), started_at=db_now()
        )
    except DatabaseError as error:  # the worker still starts; its heartbeat reports it later
        log.warning("worker_start_not_recorded", error=str(error)[:300])


def worker_instance():
    """This worker process's name, or "" outside a worker (a command, a test, the web)."""
    return _instance or ""


def worker_identity():
    """The owner of one lease: this worker process (as its heartbeat names it) and this
    execution. Outside a worker (no heartbeat to watch) the owner names no instance, so the lease
    is never taken back for a lost worker; it runs out by itself."""
    execution = f"{threading.get_ident()}:{uuid.uuid4().hex[:8]}"
    if _instance:
        return f"{_instance}/{execution}"
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{execution}"


def lease_instance(lease_owner):
    """The worker instance that holds a lease, or "" for a lease taken outside a worker."""
    instance, separator, _ = lease_owner.partition("/")
    return instance if separator else ""


def workers_lost(*, now):
    """{instance: host name} of the worker instances that held units and have not heartbeaten
    for WORKER_LOST_SECONDS while another worker heartbeat without a break; {} when no worker was
    watching long enough to tell."""
    window = dt.timedelta(seconds=settings.WORKER_LOST_SECONDS)
    fresh_since = now - dt.timedelta(seconds=3 * settings.WORKER_HEARTBEAT_SECONDS)
    watchers = Heartbeat.objects.filter(
        kind=Heartbeat.Kind.WORKER,
        seen_at__gte=fresh_since,
        continuous_since__lte=now - window,
    )
    if not watchers.exists():
        return {}
    alive = set(
        Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER, seen_at__gte=now - window)
        .exclude(instance="")
        .values_list("instance", flat=True)
    )
    names = dict(
        Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER)
        .exclude(instance="")
        .values_list("instance", "hostname")
    )
    held = WorkItem.objects.filter(state=WorkState.RUNNING, started_at__lt=now - window)
    lost = {}
    for owner in held.values_list("lease_owner", flat=True):
        instance = lease_instance(owner)
        if instance and instance not in alive:
            lost[instance] = names.get(instance, instance)
    return lost


def units_take_back_from_lost_workers(*, now=None):
    """Give the running units of lost workers back (pending, sent again, slots freed) and alert
    once per worker. Safe to run in several processes at once: each unit is taken back by a
    conditional UPDATE on its own row and its lease owner. Returns the number of units."""
    now = now or db_now()
    total = 0
    for instance, hostname in workers_lost(now=now).items():
        prefix = f"{instance}/"
        taken = []
        for item in WorkItem.objects.filter(
            state=WorkState.RUNNING, lease_owner__startswith=prefix
        ).select_related("task"):
            with transaction.atomic():
                back = (
                    WorkItem.objects.filter(pk=item.pk)
                    .leased_to(item.lease_owner, item.attempts)
                    .lease_give_back()
                )
                if back:
                    dispatch.dispatch_unit(item.pk)
                    taken.append(item)
        slots = limits.slots_release_held_by(prefix)
        if not taken:
            continue
        total += len(taken)
        listed = ", ".join(
            f"'{item.task.title}' {item.step} {item.unit}" for item in taken[:20]
        ) + (f" and {len(taken) - 20} more" if len(taken) > 20 else "")
        log.warning(
            "worker_lost_units_taken_back", worker=hostname, instance=instance, units=len(taken)
        )
        alert_send(
            level="WARNING",
            title=f"worker {hostname} vanished: {len(taken)} unit{'s' * (len(taken) != 1)} "
            "taken back",
            message=(
                f"The worker {hostname} (process {instance}) stopped reporting for more than "
                f"{settings.WORKER_LOST_SECONDS} s while other workers kept reporting. Its "
                f"running units were given back and sent to the other workers: {listed}. "
                f"{slots} provider slots it held were freed. If it comes back, it stops those "
                "units and records nothing for them."
            ),
            key=f"worker-lost:{instance}",
            fields={"worker": hostname, "units": str(len(taken))},
        )
    return total
