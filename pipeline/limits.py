"""Per-provider concurrency caps that hold across every worker process and every video.

Why the database and not Redis or per-provider queues: a cap is a handful of leased rows
(ProviderSlot), taken with a conditional UPDATE like every other claim here. PostgreSQL is already
the source of truth, a lease expires by itself when its holder dies (no slot is lost when a worker
is SIGKILLed or Redis restarts without persistence), and the same code runs on the embedded SQLite
default. Queues sized per provider would cap per worker, not across workers.
"""

import collections
import random
import threading
import time
import uuid
from contextlib import contextmanager

import structlog
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q

from pipeline.clock import later_expression, now_expression
from pipeline.models import ProviderSlot

# A waiter in this process is woken the moment a slot of its provider is released here (one
# waiter per release, so a release does not wake every waiting thread to race for one slot);
# slots released by other processes are noticed by polling. Waiting threads stay idle between
# polls: with the threads pool, busy waiters would slow every other task of the worker.
log = structlog.get_logger(__name__)
POLL_SECONDS = 1.0
_lock = threading.Lock()
_released = collections.defaultdict(lambda: threading.Condition(_lock))
_releases = collections.Counter()  # per provider: releases so far, to catch one between polls


class SlotUnavailable(Exception):
    """No slot became free within the wait; the caller re-queues itself."""


def provider_cap(provider):
    return settings.PROVIDER_CONCURRENCY.get(provider, settings.PROVIDER_CONCURRENCY["local"])


def _ensure_slots(provider, cap):
    ProviderSlot.objects.bulk_create(
        [ProviderSlot(provider=provider, index=index) for index in range(cap)],
        ignore_conflicts=True,
    )


def _free():
    return Q(holder="") | Q(expires_at__lt=now_expression())


def slot_try_acquire(provider, holder, *, lease_seconds):
    cap = provider_cap(provider)
    candidates = ProviderSlot.objects.filter(provider=provider, index__lt=cap)
    free = list(candidates.filter(_free()).values_list("pk", flat=True))
    if not free and not candidates.exists():
        _ensure_slots(provider, cap)
        free = list(candidates.filter(_free()).values_list("pk", flat=True))
    random.shuffle(free)
    for pk in free:
        # The free condition is checked again by the UPDATE itself: two workers racing for the
        # same row cannot both win it.
        expires = later_expression(lease_seconds)
        if candidates.filter(_free(), pk=pk).update(holder=holder, expires_at=expires) == 1:
            return pk
    return None


def slot_renew(pk, holder, *, lease_seconds):
    expires = later_expression(lease_seconds)
    return ProviderSlot.objects.filter(pk=pk, holder=holder).update(expires_at=expires) == 1


def slots_release_held_by(prefix):
    """Free every slot whose holder starts with prefix (the units of a worker that was lost)."""
    return ProviderSlot.objects.filter(holder__startswith=prefix).update(holder="", expires_at=None)


def slot_release(pk, holder, provider):
    try:
        ProviderSlot.objects.filter(pk=pk, holder=holder).update(holder="", expires_at=None)
    except DatabaseError as error:
        # The lease runs out by itself; losing the script's result over this would be worse.
        log.warning("slot_release_failed", provider_slot=pk, error=str(error)[:300])
    with _lock:
        _releases[provider] += 1
        _released[provider].notify(1)


@contextmanager
def provider_slot(provider, *, lease_seconds, wait_seconds=60.0, holder=None):
    """Hold one of the provider's slots for the body; wait up to wait_seconds for one."""
    holder = holder or uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    while True:
        with _lock:
            seen = _releases[provider]
        pk = slot_try_acquire(provider, holder, lease_seconds=lease_seconds)
        if pk is not None:
            break
        if time.monotonic() >= deadline:
            raise SlotUnavailable(f"no free {provider} slot within {wait_seconds:.0f} s")
        with _lock:
            if _releases[provider] == seen:  # else a slot came free while we asked: ask again
                _released[provider].wait(timeout=POLL_SECONDS * (0.5 + random.random()))  # noqa: S311
    try:
        yield Slot(pk, holder, lease_seconds)
    finally:
        slot_release(pk, holder, provider)


class Slot:
    def __init__(self, pk, holder, lease_seconds):
        self.pk, self.holder, self.lease_seconds = pk, holder, lease_seconds

    def renew(self):
        return slot_renew(self.pk, self.holder, lease_seconds=self.lease_seconds)
