"""Per-provider concurrency caps that hold across every worker process and every video.

Why the database and not Redis or per-provider queues: a cap is a handful of leased rows
(ProviderSlot), taken with a conditional UPDATE like every other claim here. PostgreSQL is already
the source of truth, a lease expires by itself when its holder dies (no slot is lost when a worker
is SIGKILLed or Redis restarts without persistence), and the same code runs on the embedded SQLite
default. Queues sized per provider would cap per worker, not across workers.

The rule for who gets a slot that comes free (the one place it lives; WAITER_ORDER): it goes to
the unit waiting in the provider's line whose video has the highest priority, among equals the
video the scheduler started first, then that video's units in order. Serving the oldest video
first keeps the caps busy with the work that finishes a video soonest instead of moving a batch
through each step together, and it keeps channel fairness and each channel's max_concurrent
because tasks_schedule starts videos across channels in turn within those limits.

Units line up (SlotWaiter rows) when their step fans out or when one finds no slot.
A unit waiting for a slot holds no worker thread: the grant sends its message (it comes back and
takes the slot granted to it), so a batch of 360 waiting units does not fill the worker's pool.
Only the next few in line are invited ahead (their message sent before a slot is free): each
comes, gets ready to run (claim, arguments, secrets) and waits in its thread, so a slot coming
free is taken within a few milliseconds instead of a message hop and a unit's preparation later.
"""

import threading
import time

import structlog
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q

from channels_app.models import PRIORITY_RANK, Priority
from pipeline import dispatch
from pipeline.clock import later_expression, now_expression
from pipeline.models import ProviderSlot, SlotWaiter, WorkState

log = structlog.get_logger(__name__)
# A granted slot waits this long for its unit's message to come and take it; past that it is free
# again (the message was lost, or the unit no longer needs it) and goes to the next in line.
GRANT_SECONDS = 60
GRANT_PREFIX = "grant:"
# The rule of the module's docstring.
WAITER_ORDER = ("priority_rank", "video_since", "work_item_id")
# Units invited ahead per provider (at most its cap): enough to take each slot as it comes free,
# few enough that waiting threads leave the worker's pool to the units running.
INVITED_AHEAD = 2
# An invited unit waits this long in its thread, then gives its thread back and stays in line.
INVITED_WAIT_SECONDS = 30
# A grant made by another process is noticed by polling at this interval (one made in this
# process wakes the invited unit at once).
INVITED_POLL_SECONDS = 0.5

_lock = threading.Lock()
_granted_here = threading.Condition(_lock)
_grants_here = set()  # item ids granted by this process, for invited units waiting in it


def provider_cap(provider):
    return settings.PROVIDER_CONCURRENCY.get(provider, settings.PROVIDER_CONCURRENCY["local"])


def _ensure_slots(provider, cap):
    ProviderSlot.objects.bulk_create(
        [ProviderSlot(provider=provider, index=index) for index in range(cap)],
        ignore_conflicts=True,
    )


def _free():
    return Q(holder="") | Q(expires_at__lt=now_expression())


def _grant_holder(item_id):
    return f"{GRANT_PREFIX}{item_id}"


def slot_try_acquire(provider, holder, *, lease_seconds):
    """A free slot for holder, whoever waits (slot_take checks first that nobody else does)."""
    cap = provider_cap(provider)
    candidates = ProviderSlot.objects.filter(provider=provider, index__lt=cap)
    free = list(candidates.filter(_free()).values_list("pk", flat=True))
    if not free and not candidates.exists():
        _ensure_slots(provider, cap)
        free = list(candidates.filter(_free()).values_list("pk", flat=True))
    for pk in free:
        # The free condition is checked again by the UPDATE itself: two workers racing for the
        # same row cannot both win it.
        expires = later_expression(lease_seconds)
        if candidates.filter(_free(), pk=pk).update(holder=holder, expires_at=expires) == 1:
            return pk
    return None


def units_line_up(items):
    """Put work items in their provider's line (a no-op for an item already in it). items: work
    items with their task loaded."""
    SlotWaiter.objects.bulk_create(
        [
            SlotWaiter(
                work_item=item,
                provider=item.provider,
                priority_rank=PRIORITY_RANK[Priority(item.task.priority)],
                video_since=item.task.started_at or item.task.created_at,
            )
            for item in items
        ],
        ignore_conflicts=True,
    )


def _slots_locked(provider):
    """The provider's slot rows, locked until the transaction ends: whoever hands out a slot
    (a grant, a direct take) takes turns with the others, so no slot or waiter goes twice."""
    cap = provider_cap(provider)
    rows = ProviderSlot.objects.select_for_update().filter(provider=provider, index__lt=cap)
    slots = list(rows.order_by("index"))
    if len(slots) < cap:
        _ensure_slots(provider, cap)
        slots = list(rows.order_by("index"))
    return slots


def slots_grant(provider):
    """Grant the provider's free slots to the first units in its line and send their messages.
    Granters of one provider take turns (the slot rows are locked), so no slot or waiter is
    granted twice."""
    sent = []
    with transaction.atomic():
        slots = _slots_locked(provider)
        free = [
            slot.pk
            for slot in ProviderSlot.objects.filter(pk__in=[s.pk for s in slots]).filter(_free())
        ]
        line = SlotWaiter.objects.filter(provider=provider).order_by(*WAITER_ORDER)
        if free:
            for waiter in line.select_related("work_item__task")[: len(free) + 20]:
                item = waiter.work_item
                invited = _waiter_take(waiter)
                if invited is None:
                    continue  # taken out of line meanwhile
                if item.state not in (WorkState.PENDING, WorkState.RUNNING) or (
                    item.task.cancelled_at
                ):
                    continue  # done, failed or cancelled: out of line
                ProviderSlot.objects.filter(pk=free.pop(0)).update(
                    holder=_grant_holder(item.pk), expires_at=later_expression(GRANT_SECONDS)
                )
                sent.append(item.pk)
                if invited:  # its message was sent already: wake it if it waits here
                    transaction.on_commit(lambda pk=item.pk: _announce(pk))
                else:
                    dispatch.dispatch_unit(item.pk)
                if not free:
                    break
        ahead = list(line.values_list("pk", "invited")[: min(len(slots), INVITED_AHEAD)])
        for pk, invited in ahead:
            if not invited and SlotWaiter.objects.filter(pk=pk, invited=False).update(invited=True):
                dispatch.dispatch_unit(SlotWaiter.objects.get(pk=pk).work_item_id)
    if sent:
        log.info("slots_granted", provider=provider, items=sent)
    return sent


def _waiter_take(waiter):
    """Take the waiter out of line for its grant: whether it was invited, None if it was gone.
    Conditional deletes, so an invited unit giving up at this instant (units.py) either still
    counts as invited (and finds its grant) or as not (and its message is sent)."""
    if SlotWaiter.objects.filter(pk=waiter.pk, invited=True).delete()[0]:
        return True
    if SlotWaiter.objects.filter(pk=waiter.pk).delete()[0]:
        return False
    return None


def _announce(item_id):
    with _lock:
        _grants_here.add(item_id)
        _granted_here.notify_all()


def slots_grant_all():
    """Grant every free slot that has a unit waiting (the reconciler: grants whose unit never came
    ran out, and nothing else would hand those slots on)."""
    providers = list(SlotWaiter.objects.values_list("provider", flat=True).distinct())
    for provider in providers:
        slots_grant(provider)
    return len(providers)


def _granted(provider, item_id):
    return ProviderSlot.objects.filter(
        provider=provider, holder=_grant_holder(item_id), expires_at__gte=now_expression()
    )


def slot_take_granted(provider, item_id, holder, *, lease_seconds):
    """The slot granted to this unit, now held by holder (its execution); None when there is
    none (never granted, or the grant ran out)."""
    granted = _granted(provider, item_id)
    pk = granted.values_list("pk", flat=True).first()
    if pk is None:
        return None
    taken = granted.filter(pk=pk).update(holder=holder, expires_at=later_expression(lease_seconds))
    return pk if taken == 1 else None


def grant_give_back(provider, item_id):
    """A slot granted to this unit goes to the next in line (the unit does not need it now)."""
    if ProviderSlot.objects.filter(holder=_grant_holder(item_id)).update(
        holder="", expires_at=None
    ):
        slots_grant(provider)


def unit_leaves_line(provider, item_id):
    """The unit needs no slot after all (done meanwhile, waits for another unit, cancelled): out of
    the line, and a slot granted to it goes to the next in line."""
    SlotWaiter.objects.filter(work_item_id=item_id).delete()
    grant_give_back(provider, item_id)


def slot_renew(pk, holder, *, lease_seconds):
    expires = later_expression(lease_seconds)
    return ProviderSlot.objects.filter(pk=pk, holder=holder).update(expires_at=expires) == 1


def slots_release_held_by(prefix):
    """Free every slot whose holder starts with prefix (the units of a worker that was lost), and
    grant them to the next in line."""
    providers = set(
        ProviderSlot.objects.filter(holder__startswith=prefix).values_list("provider", flat=True)
    )
    count = ProviderSlot.objects.filter(holder__startswith=prefix).update(
        holder="", expires_at=None
    )
    for provider in providers:
        slots_grant(provider)
    return count


def slot_release(pk, holder, provider, item_id=None):
    """Give the slot back and grant it to the next in line. A grant still in the name of the unit
    that ran (made to it while it ran on another slot) goes back with it: nobody would take it."""
    held = Q(pk=pk, holder=holder)
    if item_id is not None:
        held |= Q(provider=provider, holder=_grant_holder(item_id))
    try:
        ProviderSlot.objects.filter(held).update(holder="", expires_at=None)
        slots_grant(provider)
    except DatabaseError as error:
        # The lease runs out by itself; losing the script's result over this would be worse.
        log.warning("slot_release_failed", provider_slot=pk, error=str(error)[:300])


class Slot:
    """A held slot: renewed with the unit's lease, released (and granted on) on leaving."""

    def __init__(self, pk, holder, provider, lease_seconds, item_id):
        self.pk, self.holder, self.provider = pk, holder, provider
        self.lease_seconds, self.item_id = lease_seconds, item_id

    def renew(self):
        return slot_renew(self.pk, self.holder, lease_seconds=self.lease_seconds)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        slot_release(self.pk, self.holder, self.provider, self.item_id)


def slot_take(item, holder, *, lease_seconds):
    """The slot granted to this unit, now held by holder for its run, or None: the unit was not
    granted one (yet). Then the caller gives its claim back and calls unit_wait_in_line."""
    pk = slot_take_granted(item.provider, item.pk, holder, lease_seconds=lease_seconds)
    if pk is None and not _others_wait(item):
        # Nobody else waits for this provider: a free slot is this unit's without a round trip
        # through the line. Taken with the slot rows locked, as a grant is, so a grant made at
        # the same instant either comes first (and is taken here) or finds the unit out of line:
        # never a second slot in its name that nobody would take.
        with transaction.atomic():
            _slots_locked(item.provider)
            pk = slot_take_granted(item.provider, item.pk, holder, lease_seconds=lease_seconds)
            if pk is None and not _others_wait(item):
                pk = slot_try_acquire(item.provider, holder, lease_seconds=lease_seconds)
            if pk is not None:
                SlotWaiter.objects.filter(work_item_id=item.pk).delete()
    return None if pk is None else Slot(pk, holder, item.provider, lease_seconds, item.pk)


def _others_wait(item):
    return SlotWaiter.objects.filter(provider=item.provider).exclude(work_item_id=item.pk).exists()


def slot_wait_invited(item, holder, *, lease_seconds, wait_seconds=INVITED_WAIT_SECONDS):
    """An invited unit, ready to run, waits here for its grant; None when it was not invited, or
    was not granted a slot within wait_seconds (then it is no longer invited: the grant sends its
    message)."""
    waiter = SlotWaiter.objects.filter(work_item_id=item.pk, invited=True)
    if not waiter.exists():
        return None
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with _lock:
            if item.pk not in _grants_here:
                _granted_here.wait(timeout=min(INVITED_POLL_SECONDS, deadline - time.monotonic()))
            _grants_here.discard(item.pk)
        slot = slot_take(item, holder, lease_seconds=lease_seconds)
        if slot is not None:
            return slot
    if waiter.update(invited=False):
        return None
    return slot_take(item, holder, lease_seconds=lease_seconds)  # granted as it gave up


def unit_wait_in_line(item):
    """Line the unit up and grant what is free: its message comes again with its grant. Called
    once the unit's claim is given back, so a grant's message always finds the unit claimable.
    A grant made to it since it last looked (it was invited, and granted as it gave up) is not
    left waiting for a unit that lines up again: its message is sent for it, under the slot
    lock the grants take, so the unit never ends up with a grant and a place in line at once."""
    with transaction.atomic():
        _slots_locked(item.provider)
        if _granted(item.provider, item.pk).exists():
            dispatch.dispatch_unit(item.pk)
            return
        units_line_up([item])
    slots_grant(item.provider)
