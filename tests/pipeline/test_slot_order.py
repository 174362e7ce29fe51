"""Who gets a provider's slot (pipeline/limits.py): the oldest video first within priority, the
scheduler's turn across channels kept, and never a slot twice, raced by several threads on their
own PostgreSQL connections over many rounds."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from pipeline import limits
from pipeline.models import ProviderSlot, SlotWaiter, VideoTask, WorkItem, WorkState
from pipeline.services import tasks_schedule
from pipeline.status import Status
from tests.concurrency import errors_in, race
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4
ROUNDS = 30
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _caps(settings):
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "kie": 2}


def _video(channel, *, minute, priority="normal"):
    return VideoTaskFactory(
        channel=channel,
        status=Status.GENERATING_VIDEO,
        priority=priority,
        started_at=T0 + dt.timedelta(minutes=minute),
    )


def _units(task, count):
    return [
        WorkItem.objects.create(
            task=task, step="videos", unit=f"s{n:02d}", script="generate_video.py",
            provider="kie", output_path=f"/tmp/{task.pk}-s{n:02d}.mp4",
        )  # fmt: skip
        for n in range(1, count + 1)
    ]


def _granted():
    """The units holding a grant, in slot order."""
    holders = ProviderSlot.objects.filter(provider="kie", holder__startswith=limits.GRANT_PREFIX)
    return sorted(int(holder.removeprefix(limits.GRANT_PREFIX)) for holder in
                  holders.values_list("holder", flat=True))  # fmt: skip


def _free_all_slots():
    ProviderSlot.objects.filter(provider="kie").update(holder="", expires_at=None)


def test_it_grants_free_slots_to_the_oldest_video_first_whatever_order_units_line_up_in():
    channel = ChannelFactory(id="order")
    old, middle, new = (_video(channel, minute=m) for m in (0, 5, 10))
    units = {task.pk: _units(task, 3) for task in (old, middle, new)}
    for task in (new, middle, old):  # the newest video's step fanned out first
        limits.units_line_up(units[task.pk])

    sent = limits.slots_grant("kie")

    assert sent == [units[old.pk][0].pk, units[old.pk][1].pk]
    assert _granted() == sorted(sent)
    assert SlotWaiter.objects.count() == 7


def test_it_grants_a_high_priority_video_before_an_older_normal_one():
    channel = ChannelFactory(id="order")
    older = _video(channel, minute=0)
    urgent = _video(channel, minute=30, priority="high")
    limits.units_line_up(_units(older, 2))
    limits.units_line_up(_units(urgent, 2))

    sent = limits.slots_grant("kie")

    assert {WorkItem.objects.get(pk=pk).task_id for pk in sent} == {urgent.pk}


def test_it_keeps_the_schedulers_turn_across_channels(settings):
    settings.PIPELINE_MAX_ACTIVE_VIDEOS = 10
    busy = ChannelFactory(id="busy", max_concurrent=3)
    quiet = ChannelFactory(id="quiet", max_concurrent=3)
    backlog = [VideoTaskFactory(channel=busy, status=Status.QUEUED) for _ in range(3)]
    late = VideoTaskFactory(channel=quiet, status=Status.QUEUED)  # queued after the backlog
    tasks_schedule()
    tasks = sorted(
        VideoTask.objects.filter(pk__in=[t.pk for t in [*backlog, late]]), key=lambda t: t.pk
    )
    VideoTask.objects.filter(pk__in=[t.pk for t in tasks]).update(status=Status.GENERATING_VIDEO)
    for task in tasks:
        task.refresh_from_db()
        limits.units_line_up(_units(task, 1))

    sent = limits.slots_grant("kie")

    # The quiet channel's one video is served second, not behind the busy channel's backlog.
    assert [WorkItem.objects.get(pk=pk).task.channel_id for pk in sent] == ["busy", "quiet"]


def test_it_skips_units_of_a_cancelled_video_and_drops_them_from_the_line():
    channel = ChannelFactory(id="order")
    cancelled = _video(channel, minute=0)
    live = _video(channel, minute=1)
    limits.units_line_up(_units(cancelled, 2))
    limits.units_line_up(_units(live, 2))
    VideoTask.objects.filter(pk=cancelled.pk).update(cancelled_at=timezone.now())

    sent = limits.slots_grant("kie")

    assert {WorkItem.objects.get(pk=pk).task_id for pk in sent} == {live.pk}
    assert not SlotWaiter.objects.filter(work_item__task=cancelled).exists()


def test_it_never_grants_a_slot_twice_when_granters_race():
    channel = ChannelFactory(id="race")
    tasks = [_video(channel, minute=m) for m in range(3)]
    units = [unit for task in tasks for unit in _units(task, 4)]
    in_order = [unit.pk for unit in units]

    def fresh_line(_):
        _free_all_slots()
        SlotWaiter.objects.all().delete()
        limits.units_line_up(list(reversed(units)))

    results = race(lambda index: limits.slots_grant("kie"), threads=THREADS, rounds=ROUNDS,
                   before_round=fresh_line)  # fmt: skip

    assert errors_in(results) == []
    for outcome in results:
        granted = [pk for sent in outcome for pk in sent]
        assert sorted(granted) == in_order[:2]  # the first two in line, each once
    assert _granted() == in_order[:2]


def test_it_hands_released_slots_to_the_next_in_line_when_releases_race():
    channel = ChannelFactory(id="race")
    tasks = [_video(channel, minute=m) for m in range(3)]
    units = [unit for task in tasks for unit in _units(task, 3)]
    holders = [f"worker-{index}" for index in range(2)]

    def two_running_and_a_line(_):
        _free_all_slots()
        SlotWaiter.objects.all().delete()
        WorkItem.objects.update(state=WorkState.PENDING)
        for holder in holders:
            assert limits.slot_try_acquire("kie", holder, lease_seconds=60)
        limits.units_line_up(units)

    def release(index):
        if index < len(holders):
            slot = ProviderSlot.objects.get(provider="kie", holder=holders[index])
            limits.slot_release(slot.pk, holders[index], "kie")
        else:  # a unit lining itself up at the same instant (a newer video's)
            limits.unit_wait_in_line(units[-1])

    results = race(release, threads=THREADS, rounds=ROUNDS, before_round=two_running_and_a_line)

    assert errors_in(results) == []
    first_two = [units[0].pk, units[1].pk]
    assert _granted() == first_two
    assert ProviderSlot.objects.filter(provider="kie").exclude(holder="").count() == 2
    assert SlotWaiter.objects.count() == len(units) - 2


def test_it_lets_a_granted_unit_take_its_slot_once_and_nobody_else_take_it():
    channel = ChannelFactory(id="race")
    task = _video(channel, minute=0)
    first, second, third = _units(task, 3)

    def grant_first_two(_):
        _free_all_slots()
        SlotWaiter.objects.all().delete()
        limits.units_line_up([first, second, third])
        limits.slots_grant("kie")

    def take(index):
        item = [first, first, third, third][index]
        slot = limits.slot_take(item, f"worker-{index}", lease_seconds=60)
        return slot and slot.pk

    results = race(take, threads=THREADS, rounds=ROUNDS, before_round=grant_first_two)

    assert errors_in(results) == []
    for outcome in results:
        assert len([pk for pk in outcome[:2] if pk]) == 1  # the first unit's grant, taken once
        assert outcome[2:] == [None, None]  # the third unit was not granted: it waits


def test_an_invited_unit_waits_ready_in_its_thread_and_takes_the_slot_released_for_it(settings):
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "kie": 1}
    task = _video(ChannelFactory(id="invite"), minute=0)
    first, second, third = _units(task, 3)
    assert limits.slot_try_acquire("kie", "worker-running", lease_seconds=60)
    limits.units_line_up([first, second, third])
    limits.slots_grant("kie")  # no slot free: the first in line is invited ahead (cap 1)
    assert list(SlotWaiter.objects.order_by("work_item").values_list("invited", flat=True)) == [
        True, False, False]  # fmt: skip
    taken = []

    def wait_ready():
        taken.append(limits.slot_wait_invited(first, "worker-first", lease_seconds=60))
        connection.close()

    waiting = threading.Thread(target=wait_ready)
    waiting.start()
    running = ProviderSlot.objects.get(provider="kie", holder="worker-running")
    limits.slot_release(running.pk, "worker-running", "kie")
    waiting.join(timeout=30)

    assert taken and taken[0] is not None
    assert ProviderSlot.objects.get(pk=taken[0].pk).holder == "worker-first"
    # The next in line is invited now.
    assert list(SlotWaiter.objects.order_by("work_item").values_list("invited", flat=True)) == [
        True, False]  # fmt: skip


def test_an_invited_unit_not_granted_in_time_gives_its_thread_back_and_stays_in_line():
    task = _video(ChannelFactory(id="invite"), minute=0)
    units = _units(task, 4)
    for holder in ("worker-a", "worker-b"):
        assert limits.slot_try_acquire("kie", holder, lease_seconds=60)
    limits.units_line_up(units)
    limits.slots_grant("kie")

    slot = limits.slot_wait_invited(units[0], "worker-first", lease_seconds=60, wait_seconds=0.3)

    assert slot is None
    waiter = SlotWaiter.objects.get(work_item=units[0])
    assert waiter.invited is False  # the next grant sends its message


def test_it_lets_units_take_free_slots_directly_when_nobody_waits_and_never_one_twice():
    channel = ChannelFactory(id="direct")
    task = _video(channel, minute=0)
    units = _units(task, THREADS)

    def empty_line(_):
        _free_all_slots()
        SlotWaiter.objects.all().delete()

    def take(index):
        slot = limits.slot_take(units[index], f"worker-{index}", lease_seconds=60)
        return slot and slot.pk

    results = race(take, threads=THREADS, rounds=ROUNDS, before_round=empty_line)

    assert errors_in(results) == []
    for outcome in results:
        taken = [pk for pk in outcome if pk]
        assert len(taken) == 2 == len(set(taken))  # the cap (2), each slot once


def test_a_unit_does_not_take_a_free_slot_past_units_waiting_in_line():
    channel = ChannelFactory(id="queue")
    older, newer = _video(channel, minute=0), _video(channel, minute=5)
    (waiting,) = _units(older, 1)
    (arriving,) = _units(newer, 1)
    SlotWaiter.objects.create(
        work_item=waiting, provider="kie", priority_rank=1, video_since=older.started_at
    )

    assert limits.slot_take(arriving, "worker-1", lease_seconds=60) is None
    assert not ProviderSlot.objects.filter(provider="kie", holder="worker-1").exists()


def test_a_unit_taking_a_free_slot_directly_is_never_also_granted_one_when_a_grant_races_it():
    """The direct take (nobody else waits) and a grant to the same unit at the same instant: the
    unit ends up with one slot, held by its execution, and no grant left in its name (a grant
    nobody takes would keep the slot from everyone for GRANT_SECONDS)."""
    channel = ChannelFactory(id="direct")
    task = _video(channel, minute=0)
    (unit,) = _units(task, 1)

    def act(index):
        if index:
            return limits.slots_grant("kie")
        slot = limits.slot_take(unit, "worker-unit", lease_seconds=60)
        return slot and slot.pk

    for _ in range(ROUNDS * 2):
        _free_all_slots()
        SlotWaiter.objects.all().delete()
        limits.units_line_up([unit])

        ((taken, _granted_to),) = race(act, threads=2, rounds=1)

        holders = list(
            ProviderSlot.objects.filter(provider="kie").exclude(holder="").values_list(
                "holder", flat=True)
        )  # fmt: skip
        if taken:  # it runs on one slot, and no grant is left in its name
            assert holders == ["worker-unit"]
        else:  # the grant came first and sends it (it takes the granted slot then)
            assert holders == [f"{limits.GRANT_PREFIX}{unit.pk}"]


def test_an_invited_unit_giving_up_as_it_is_granted_never_ends_up_granted_and_in_line_again():
    """An invited unit stops waiting (and lines up again) at the instant a released slot is
    granted to it: it runs on that slot, or the grant stays with its message sent and it is out
    of line; never a grant and a place in line at once (a second grant would then sit unused)."""
    channel = ChannelFactory(id="invite")
    task = _video(channel, minute=0)
    first, second = _units(task, 2)

    def act(index):
        if index:
            slot = ProviderSlot.objects.get(provider="kie", holder="worker-running")
            return limits.slot_release(slot.pk, "worker-running", "kie")
        slot = limits.slot_take(first, "worker-first", lease_seconds=60) or (
            limits.slot_wait_invited(first, "worker-first", lease_seconds=60, wait_seconds=0)
        )
        if slot is None:
            limits.unit_wait_in_line(first)
        return slot and slot.pk

    for _ in range(ROUNDS * 2):
        _free_all_slots()
        SlotWaiter.objects.all().delete()
        for holder in ("worker-running", "worker-other"):
            assert limits.slot_try_acquire("kie", holder, lease_seconds=60)
        limits.units_line_up([first, second])
        limits.slots_grant("kie")  # none free: both invited ahead

        ((taken, _released),) = race(act, threads=2, rounds=1)

        holders = set(
            ProviderSlot.objects.filter(provider="kie").values_list("holder", flat=True)
        )  # fmt: skip
        in_line = SlotWaiter.objects.filter(work_item=first).exists()
        granted = f"{limits.GRANT_PREFIX}{first.pk}" in holders
        if taken:
            assert "worker-first" in holders and not granted and not in_line
        else:
            assert granted != in_line, (holders, in_line)


def test_a_unit_ending_its_run_gives_back_a_grant_still_in_its_name():
    task = _video(ChannelFactory(id="stale"), minute=0)
    (unit,) = _units(task, 1)
    slot = limits.slot_take(unit, "worker-unit", lease_seconds=60)  # nobody waits: direct
    limits.units_line_up([unit])  # a stale place in line (a step sent twice)
    limits.slots_grant("kie")
    assert _granted() == [unit.pk]

    with slot:
        pass

    assert not ProviderSlot.objects.filter(provider="kie").exclude(holder="").exists()
