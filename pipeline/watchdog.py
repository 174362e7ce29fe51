"""The watchdog: alarms for when the machinery itself is down (no worker, no beat, a stuck queue).

Nothing here may run on a worker only: when every worker is dead, a check that runs on the workers
says nothing. So the watchdog runs inside the beat process (a thread started by videogen/celery.py
on `beat_init`), and the workers only record that they are alive (one Heartbeat row per worker
host name, refreshed by a thread started on `worker_ready`). /status and `manage.py doctor` read
the same heartbeats.

Alarms (README.md, "Alarms", lists them with their settings):
- CRITICAL: no worker seen for PIPELINE_WORKER_SILENCE_MINUTES while work waits; every running
  unit past its lease; the database unreachable from beat (sent straight to Discord, it cannot
  be stored); workspace free space under WORKSPACE_FREE_CRITICAL_GB (new steps do not start).
- WARNING: workspace free space under WORKSPACE_FREE_WARNING_GB; more than
  PIPELINE_RETRY_RATE_ALERT of the last hour's attempts were retries; Notion throttled longer than
  NOTION_THROTTLED_ALERT_SECONDS (raised where the waiting happens, by notion_throttled()).
Every check is a plain function returning a Finding or None, so a test can call one at a time.
"""

import datetime as dt
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.db.models import Case, Count, F, Max, Q, Sum, When
from django.utils import timezone

from core.alerts import alert_send, alert_send_direct
from pipeline.clock import db_now, later_expression, now_expression
from pipeline.models import Heartbeat, VideoTask, WorkerStart, WorkItem, WorkState
from pipeline.status import RUNNING_STATUSES, Status
from pipeline.workers import units_take_back_from_lost_workers

log = structlog.get_logger(__name__)

# The reconciler runs every minute; a lease expired for longer than this was not reclaimed.
LEASE_RECLAIM_GRACE_SECONDS = 120
GB = 1024**3


@dataclass(frozen=True)
class Finding:
    level: str
    key: str
    title: str
    message: str


# --- Heartbeats ------------------------------------------------------------------------------


def heartbeat_record(*, kind, hostname, instance="", every=None, now=None):
    """This process is alive: one row per (kind, host name), its seen_at moved to now (the
    database's). continuous_since is when this process's unbroken run of heartbeats began: it
    starts again after a gap longer than three intervals (`every` seconds), or when another
    process (instance) took the name; pipeline/workers.py trusts only an unbroken watcher."""
    every = every or settings.WORKER_HEARTBEAT_SECONDS
    if now is None:
        moment, gap_start = now_expression(), later_expression(-3 * every)
    else:
        moment, gap_start = now, now - dt.timedelta(seconds=3 * every)
    unbroken = Q(seen_at__gte=gap_start, instance=instance, continuous_since__isnull=False)
    updated = Heartbeat.objects.filter(kind=kind, hostname=hostname).update(
        seen_at=moment,
        instance=instance,
        continuous_since=Case(When(unbroken, then=F("continuous_since")), default=moment),
    )
    if not updated:
        moment = now or db_now()
        Heartbeat.objects.update_or_create(
            kind=kind,
            hostname=hostname,
            defaults={
                "seen_at": moment,
                "started_at": moment,
                "continuous_since": moment,
                "instance": instance,
            },
        )


def worker_silence():
    return dt.timedelta(minutes=settings.PIPELINE_WORKER_SILENCE_MINUTES)


def workers_seen(*, now=None):
    """Host names of the workers seen within the silence window, newest first."""
    since = (now or timezone.now()) - worker_silence()
    return list(
        Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER, seen_at__gte=since)
        .order_by("-seen_at")
        .values_list("hostname", flat=True)
    )


def beat_last_tick():
    return Heartbeat.objects.filter(kind=Heartbeat.Kind.BEAT).aggregate(last=Max("seen_at"))["last"]


def beat_alive(*, now=None):
    last = beat_last_tick()
    limit = dt.timedelta(seconds=settings.BEAT_SILENCE_SECONDS)
    return last is not None and last >= (now or timezone.now()) - limit, last


# --- Checks ----------------------------------------------------------------------------------


def _due(now):
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def work_waiting(*, now=None):
    """Units and tasks that need a worker now (not ones waiting for budget or quota time)."""
    now = now or timezone.now()
    units = (
        WorkItem.objects.filter(
            _due(now),
            task__cancelled_at__isnull=True,
            state__in=[WorkState.PENDING, WorkState.RUNNING],
        )
        .order_by()
        .count()
    )
    tasks = (
        VideoTask.objects.filter(
            _due(now),
            cancelled_at__isnull=True,
            status__in=[Status.QUEUED, *RUNNING_STATUSES],
        )
        .order_by()
        .count()
    )
    return units + tasks


def check_workers(*, now=None, since=None):
    """CRITICAL: no worker seen for the silence window while work waits. When no worker was ever
    seen, the window counts from `since` (when this watchdog started), so a fresh installation is
    not called silent before its workers could report."""
    now = now or timezone.now()
    last = Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER).aggregate(last=Max("seen_at"))[
        "last"
    ]
    reference = last or since
    if reference is None or now - reference < worker_silence():
        return None
    waiting = work_waiting(now=now)
    if not waiting:
        return None
    seen = f"last seen {last:%Y-%m-%d %H:%M:%S} UTC" if last else "never seen"
    return Finding(
        "CRITICAL",
        "watchdog:workers-silent",
        "no worker is running",
        f"No Celery worker has reported for {settings.PIPELINE_WORKER_SILENCE_MINUTES} min "
        f"({seen}) while {waiting} units and tasks wait. Start or restart the workers "
        "(Procfile: worker) and check their logs.",
    )


def check_worker_restarts(*, now=None):
    """WARNING: a worker started more than WORKER_RESTART_ALERT_COUNT times within
    WORKER_RESTART_ALERT_MINUTES: it keeps dying (out of memory, a crash at start-up) and its
    supervisor keeps restarting it. Starts older than a day are forgotten here."""
    now = now or db_now()
    WorkerStart.objects.filter(started_at__lt=now - dt.timedelta(days=1)).delete()
    minutes = settings.WORKER_RESTART_ALERT_MINUTES
    looping = list(
        WorkerStart.objects.filter(started_at__gte=now - dt.timedelta(minutes=minutes))
        .values("hostname")
        .annotate(starts=Count("id"))
        .filter(starts__gt=settings.WORKER_RESTART_ALERT_COUNT)
        .order_by("hostname")
        .values_list("hostname", "starts")
    )
    if not looping:
        return None
    named = ", ".join(f"{hostname} ({starts} starts)" for hostname, starts in looping)
    return Finding(
        "WARNING",
        "watchdog:worker-restarts:" + ",".join(hostname for hostname, _ in looping),
        f"worker restarting in a loop: {looping[0][0]}"
        + (f" and {len(looping) - 1} more" if len(looping) > 1 else ""),
        f"Started more than {settings.WORKER_RESTART_ALERT_COUNT} times in the last {minutes} "
        f"min: {named}. It keeps dying: check its log for the error at start-up or the memory "
        "it runs out of.",
    )


def check_leases(*, now=None):
    """CRITICAL: units are running and every one of them is past its lease (and the reconciler's
    grace): nothing is making progress."""
    now = now or timezone.now()
    running = WorkItem.objects.filter(task__cancelled_at__isnull=True, state=WorkState.RUNNING)
    count = running.count()
    if not count:
        return None
    limit = now - dt.timedelta(seconds=LEASE_RECLAIM_GRACE_SECONDS)
    if running.filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__gte=limit)).exists():
        return None
    return Finding(
        "CRITICAL",
        "watchdog:leases-stuck",
        "every running unit is stuck past its lease",
        f"All {count} running units are more than {LEASE_RECLAIM_GRACE_SECONDS} s past their "
        "lease: their workers died and the reconciler (beat) has not reclaimed them. Check the "
        "workers and beat; `manage.py doctor` lists the units.",
    )


def workspace_free_bytes():
    path = Path(settings.WORKSPACE_ROOT)
    while not path.exists() and path != path.parent:
        path = path.parent  # a fresh machine: the root is made on first use
    return shutil.disk_usage(path).free


def check_workspace_space():
    """WARNING under WORKSPACE_FREE_WARNING_GB free, CRITICAL under WORKSPACE_FREE_CRITICAL_GB
    (then new steps do not start: workspace_space_allows_new_steps)."""
    free = workspace_free_bytes()
    for level, limit in (
        ("CRITICAL", settings.WORKSPACE_FREE_CRITICAL_GB),
        ("WARNING", settings.WORKSPACE_FREE_WARNING_GB),
    ):
        if free < limit * GB:
            pause = " New steps do not start until space is freed." if level == "CRITICAL" else ""
            return Finding(
                level,
                f"watchdog:workspace-space:{level}",
                "workspace disk nearly full",
                f"{settings.WORKSPACE_ROOT} has {free / GB:.1f} GB free, under "
                f"{limit:g} GB (WORKSPACE_FREE_{level}_GB).{pause} Delete finished projects or "
                "add space.",
            )
    return None


def workspace_space_allows_new_steps():
    """False (and a CRITICAL alert) when the workspace is under its critical free space: a step
    that starts must be able to write its outputs."""
    finding = check_workspace_space()
    if finding is None or finding.level != "CRITICAL":
        return True
    _raise(finding)
    log.error("step_not_started_workspace_full", free_gb=round(workspace_free_bytes() / GB, 2))
    return False


def check_retry_rate(*, now=None):
    """WARNING: more than PIPELINE_RETRY_RATE_ALERT of the attempts claimed in the last hour were
    retries (a provider failing, a script broken by an upgrade)."""
    now = now or timezone.now()
    recent = WorkItem.objects.filter(started_at__gte=now - dt.timedelta(hours=1), attempts__gt=0)
    totals = recent.aggregate(total=Sum("attempts"), retried=Sum(F("attempts") - 1))
    attempts, retries = totals["total"] or 0, totals["retried"] or 0
    if attempts < settings.PIPELINE_RETRY_RATE_MIN_ATTEMPTS:
        return None
    rate = retries / attempts
    if rate <= settings.PIPELINE_RETRY_RATE_ALERT:
        return None
    return Finding(
        "WARNING",
        "watchdog:retry-rate",
        "many retries in the last hour",
        f"{retries} of {attempts} attempts in the last hour were retries ({rate:.0%}, alarm above "
        f"{settings.PIPELINE_RETRY_RATE_ALERT:.0%}). Check the units' errors on the dashboard.",
    )


def _raise(finding):
    alert_send(level=finding.level, title=finding.title, message=finding.message, key=finding.key)


def watchdog_run(*, since=None, now=None):
    """One watchdog tick (in the beat process): run every check, alert on each finding. Returns
    the findings. (Beat's heartbeat is recorded by its scheduler loop, videogen/beat.py.)"""
    now = now or db_now()
    checks = (
        lambda: check_workers(now=now, since=since),
        lambda: check_leases(now=now),
        lambda: check_worker_restarts(now=now),
        check_workspace_space,
        lambda: check_retry_rate(now=now),
    )
    findings = []
    for check in checks:
        try:
            finding = check()
        except DatabaseError:
            raise  # the database is down: the caller alerts without it
        except Exception:  # one broken check must not silence the others
            log.exception("watchdog_check_failed")
            continue
        if finding:
            findings.append(finding)
            _raise(finding)
    return findings


def database_unreachable(*, where, error):
    """CRITICAL straight to Discord (it cannot be stored): the database does not answer."""
    alert_send_direct(
        level="CRITICAL",
        title=f"database unreachable from {where}",
        message=f"{where} on {socket.gethostname()} cannot reach the database: "
        f"{type(error).__name__}: {str(error)[:300]}. Nothing moves until it answers.",
        key=f"database-unreachable:{where}",
    )


def notion_throttled(*, token_key, seconds):
    """WARNING: a process has waited `seconds` for Notion's request budget (our shared limiter or
    Notion's own 429 pause). Called by pipeline/integrations/ratelimit.py."""
    alert_send(
        level="WARNING",
        title="Notion throttled",
        message=f"Requests to Notion (token {token_key}) have waited {seconds:.0f} s for the "
        "rate limit: the board lags behind. Too many pushes, or Notion asked us to pause.",
        key=f"notion-throttled:{token_key}",
    )


# --- The threads (started by videogen/celery.py) ---------------------------------------------


def _loop(stop, interval, tick):
    while not stop.is_set():
        try:
            close_old_connections()
            tick()
        except Exception:  # a watchdog that dies silently is worse than none
            log.exception("watchdog_tick_failed")
        finally:
            connections.close_all()
        stop.wait(interval)


def beat_watchdog_start():
    """Run the watchdog every WATCHDOG_INTERVAL_SECONDS in a daemon thread of this (beat)
    process. Returns the Event that stops it."""
    since = timezone.now()
    stop = threading.Event()

    def tick():
        try:
            units_take_back_from_lost_workers()
            watchdog_run(since=since)
        except DatabaseError as error:
            database_unreachable(where="beat", error=error)

    threading.Thread(
        target=_loop,
        args=(stop, settings.WATCHDOG_INTERVAL_SECONDS, tick),
        name="videogen-watchdog",
        daemon=True,
    ).start()
    return stop


def worker_heartbeat_start(*, hostname, instance=""):
    """Record this worker's heartbeat every WORKER_HEARTBEAT_SECONDS in a daemon thread."""
    stop = threading.Event()

    def tick():
        try:
            heartbeat_record(kind=Heartbeat.Kind.WORKER, hostname=hostname, instance=instance)
        except DatabaseError as error:
            log.warning("worker_heartbeat_failed", error=str(error)[:300])

    threading.Thread(
        target=_loop,
        args=(stop, settings.WORKER_HEARTBEAT_SECONDS, tick),
        name="videogen-heartbeat",
        daemon=True,
    ).start()
    return stop
