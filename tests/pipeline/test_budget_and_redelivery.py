"""Budgets stop spending before a step starts; duplicate messages do nothing twice."""

from decimal import Decimal

import pytest

from core.models import Alert
from costs.models import VideoCost
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.services import step_run
from pipeline.status import Status
from pipeline.units import unit_claim, unit_run
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_channel():
    return ChannelFactory(
        id="paid",
        budget_daily_usd=Decimal("1.00"),
        budget_weekly_usd=Decimal("10.00"),
        providers={"image": "gemini", "video": "kie", "voice": "elevenlabs", "upload": "local"},
    )


def spend(channel, usd):
    task = VideoTaskFactory(channel=channel)
    VideoCost.objects.create(
        task=task, channel=channel, component="image", provider="gemini", units=1,
        unit_name="images", usd=Decimal(usd),
    )  # fmt: skip


def test_it_waits_instead_of_starting_a_step_when_the_daily_budget_is_nearly_spent(
    paid_channel, workspace, django_capture_on_commit_callbacks
):
    spend(paid_channel, "0.95")  # two Gemini images cost 2 x $0.039
    task = VideoTaskFactory(channel=paid_channel, status=Status.GENERATING_ASSETS)

    with django_capture_on_commit_callbacks() as sent:
        dispatched = step_run(task.pk, "assets")

    task.refresh_from_db()
    assert dispatched == 0
    assert task.status == Status.GENERATING_ASSETS
    assert task.waiting_reason == "budget"
    assert task.next_attempt_at is not None
    assert not [c for c in sent if "run_unit" in repr(c)]
    alert = Alert.objects.get(level="WARNING")
    assert "daily budget $1.00" in alert.message


def test_it_starts_the_step_when_the_budget_allows(paid_channel, workspace):
    spend(paid_channel, "0.50")
    task = VideoTaskFactory(channel=paid_channel, status=Status.GENERATING_ASSETS)

    assert step_run(task.pk, "assets") == 2
    assert WorkItem.objects.filter(task=task, step="assets").count() == 2


def test_it_does_nothing_when_the_same_step_message_arrives_twice(paid_channel, workspace):
    task = VideoTaskFactory(channel=paid_channel, status=Status.GENERATING_ASSETS)

    step_run(task.pk, "assets")
    step_run(task.pk, "assets")

    assert WorkItem.objects.filter(task=task).count() == 2


def test_it_ignores_a_step_message_for_a_task_that_has_moved_on(paid_channel, workspace):
    task = VideoTaskFactory(channel=paid_channel, status=Status.GENERATING_VIDEO)

    assert step_run(task.pk, "assets") == 0
    assert not WorkItem.objects.filter(task=task).exists()


def test_it_lets_only_one_delivery_claim_a_unit(paid_channel, workspace):
    task = VideoTaskFactory(channel=paid_channel, status=Status.GENERATING_ASSETS)
    step_run(task.pk, "assets")
    item = WorkItem.objects.filter(task=task).first()

    first = unit_claim(item.pk, "worker-1")
    second = unit_claim(item.pk, "worker-2")

    assert first is not None and first.lease_owner == "worker-1"
    assert second is None


def test_it_skips_a_unit_message_once_the_unit_is_done(paid_channel, workspace):
    task = VideoTaskFactory(channel=paid_channel, status=Status.GENERATING_ASSETS)
    step_run(task.pk, "assets")
    item = WorkItem.objects.filter(task=task).first()
    WorkItem.objects.filter(pk=item.pk).update(state=WorkState.DONE)

    assert unit_run(item.pk) == "not-claimed"
    assert VideoTask.objects.get(pk=task.pk).status == Status.GENERATING_ASSETS
