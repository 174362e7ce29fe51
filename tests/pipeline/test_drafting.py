"""Drafting's service (pipeline.drafting) without a worker: bad requests, resuming, redelivery,
the reconciler, the price of a draft, and when a draft waits for a person."""

import datetime as dt
from decimal import Decimal

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.models import Alert
from costs.models import VideoCost
from costs.prices import price
from pipeline import drafting, paths, reconcile
from pipeline.drafting import task_draft_create
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.selectors import task_waits_for_person
from pipeline.services import PipelineError
from pipeline.status import Status
from pipeline.units import unit_run
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory
from tests.pipeline.test_budget_and_redelivery import spend

LOCAL = {"image": "local", "video": "local", "voice": "local", "upload": "local", "text": "local"}


@pytest.fixture
def channel(db, workspace):
    return ChannelFactory(id="pokechannel1", providers=LOCAL)


@pytest.mark.parametrize(
    ("request_fields", "problem"),
    [
        ({"topic": "  "}, "topic: a draft needs a topic"),
        ({"topic": "x" * 1001}, "topic: at most 1000 characters, got 1001"),
        ({"scenes": 3}, "scenes: must be 4-18, got 3"),
        ({"scenes": True}, "scenes: must be 4-18, got True"),
        ({"direction": "y" * 5001}, "direction: at most 5000 characters, got 5001"),
    ],
)
def test_a_bad_request_creates_nothing_and_says_what_is_wrong(channel, request_fields, problem):
    fields = {"topic": "axolotls", **request_fields}
    with pytest.raises(PipelineError, match="the draft was not created") as raised:
        task_draft_create(channel=channel, **fields)
    assert problem in str(raised.value)
    assert not VideoTask.objects.exists() and not WorkItem.objects.exists()


def test_an_inactive_channel_gets_no_draft(db, workspace):
    channel = ChannelFactory(id="sleepy", is_active=False)
    with pytest.raises(PipelineError, match="channel sleepy is inactive"):
        task_draft_create(channel=channel, topic="axolotls")


def test_draft_task_names_an_unknown_channel_and_the_closest_one(channel):
    with pytest.raises(CommandError, match="no channel 'pokechanel1'; did you mean 'pokechannel1'"):
        call_command("draft_task", "--channel", "pokechanel1", "--topic", "axolotls")
    with pytest.raises(CommandError, match="scenes: must be 4-18, got 30"):
        call_command("draft_task", "--channel", "pokechannel1", "--topic", "x", "--scenes", "30")


def test_the_topic_is_the_title_until_the_writer_names_the_video(channel):
    task = task_draft_create(channel=channel, topic="  the secret   life of axolotls ")
    assert (task.title, task.topic, task.status) == (
        "the secret life of axolotls", "the secret life of axolotls", Status.DRAFT,
    )  # fmt: skip
    item = WorkItem.objects.get(task=task)
    assert (item.step, item.unit, item.provider) == ("draft", "storyboard", "local")
    assert item.output_path == str(paths.draft_storyboard("pokechannel1", str(task.pk)))


@pytest.mark.django_db(transaction=True)
def test_a_drafted_file_already_in_place_is_not_drafted_again(channel):
    task = task_draft_create(channel=channel, topic="axolotls")
    output = paths.draft_storyboard(channel.id, str(task.pk))
    output.parent.mkdir(parents=True)
    output.write_text(yaml.safe_dump({**SAMPLE_STORYBOARD, "channel": "elsewhere"}))

    assert unit_run(WorkItem.objects.get(task=task).pk) == "resumed"  # no script was run

    task.refresh_from_db()
    assert task.storyboard["title"] == SAMPLE_STORYBOARD["title"] == task.title
    assert task.storyboard["channel"] == "pokechannel1"  # the task's channel, whatever the file
    assert task.status == Status.DRAFT
    # Found without a cost row: booked once, at the estimate, as a run whose record was lost
    # (the ledger's rule for every unit), and never run again.
    [cost] = VideoCost.objects.filter(task=task)
    assert cost.metadata["recovered"] is True and cost.component == "storyboard"
    assert unit_run(WorkItem.objects.get(task=task).pk) == "not-claimed"
    assert VideoCost.objects.filter(task=task).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_completion_changes_nothing(channel):
    task = task_draft_create(channel=channel, topic="axolotls", queue=True)
    output = paths.draft_storyboard(channel.id, str(task.pk))
    output.parent.mkdir(parents=True)
    output.write_text(yaml.safe_dump(SAMPLE_STORYBOARD))

    assert drafting.draft_complete(task.pk) is True
    assert drafting.draft_complete(task.pk) is False

    task.refresh_from_db()
    assert task.status == Status.QUEUED
    assert task.events.filter(to_status=Status.QUEUED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_drafted_file_that_is_not_a_valid_storyboard_is_reported_not_used(channel):
    task = task_draft_create(channel=channel, topic="axolotls", queue=True)
    output = paths.draft_storyboard(channel.id, str(task.pk))
    output.parent.mkdir(parents=True)
    output.write_text("title: no scenes\nassets: []\n")

    assert drafting.draft_complete(task.pk) is False

    task.refresh_from_db()
    assert (task.status, task.storyboard) == (Status.DRAFT, {})
    assert "step draft: the drafted storyboard" in task.error_log
    assert "scenes" in task.error_log


def test_the_reconciler_sends_a_draft_unit_whose_message_was_lost(channel, monkeypatch):
    task = task_draft_create(channel=channel, topic="axolotls")
    old = timezone.now() - dt.timedelta(hours=1)
    WorkItem.objects.filter(task=task).update(updated_at=old)
    sent = []
    monkeypatch.setattr(reconcile.dispatch, "dispatch_unit", lambda pk, **_: sent.append(pk))

    assert reconcile._redispatch_lost_units(timezone.now()) == 1
    assert sent == [WorkItem.objects.get(task=task).pk]


def test_a_draft_being_drafted_does_not_wait_for_a_person_and_a_failed_one_does(channel):
    task = task_draft_create(channel=channel, topic="axolotls")
    assert task_waits_for_person(task) is False
    WorkItem.objects.filter(task=task).update(state=WorkState.FAILED)
    assert task_waits_for_person(task) is True
    hand_written = VideoTask.objects.create(
        channel=channel, title="t", storyboard=SAMPLE_STORYBOARD, status=Status.DRAFT
    )
    assert task_waits_for_person(hand_written) is True


def test_a_gemini_draft_is_priced_per_token_by_model():
    usage = {"model": "gemini-3.8-flash", "calls": 1, "input_tokens": 4000, "output_tokens": 8000}
    units, unit_name, usd = price(provider="gemini", usage=usage)
    assert (units, unit_name, usd) == (Decimal(12000), "tokens", Decimal("0.0330"))
    assert price(provider="gemini", usage={"images": 1})[2] == Decimal("0.0390")
    assert price(provider="local", usage=usage)[2] == 0


def test_only_a_failed_draft_can_be_drafted_again(channel):
    task = task_draft_create(channel=channel, topic="axolotls")
    with pytest.raises(CommandError, match="its draft has not failed; it is still drafting"):
        call_command("draft_task", "--retry", str(task.pk))
    hand_written = VideoTask.objects.create(
        channel=channel, title="t", storyboard=SAMPLE_STORYBOARD, status=Status.DRAFT
    )
    with pytest.raises(CommandError, match="already drafted"):
        call_command("draft_task", "--retry", str(hand_written.pk))
    with pytest.raises(CommandError, match="'nope' is not a task id"):
        call_command("draft_task", "--retry", "nope")
    with pytest.raises(CommandError, match="^--channel: which channel the video is for"):
        call_command("draft_task", "--topic", "axolotls")


def test_a_paid_draft_waits_for_the_budget_instead_of_calling_the_writer(
    db, workspace, django_capture_on_commit_callbacks, monkeypatch
):
    paid = ChannelFactory(
        id="paidwriter", providers={**LOCAL, "text": "gemini"}, budget_daily_usd=Decimal("1.00")
    )
    spend(paid, "0.99")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        task = task_draft_create(channel=paid, topic="axolotls")

    task.refresh_from_db()
    item = WorkItem.objects.get(task=task)
    assert not [c for c in callbacks if "run_unit" in repr(c)]  # the writer was not sent
    assert (task.status, task.waiting_reason) == (Status.DRAFT, "budget")
    assert item.state == WorkState.PENDING and item.next_attempt_at == task.next_attempt_at
    alert = Alert.objects.get(level="WARNING")
    assert "before step draft" in alert.message and "daily budget $1.00" in alert.message

    # The reconciler comes back when the wait is over, through the same check: still over
    # budget, nothing is sent; budget raised, the writer is sent and the wait is cleared.
    sent = []
    monkeypatch.setattr(drafting.dispatch, "dispatch_unit", lambda pk, **_: sent.append(pk))
    due = WorkItem.objects.filter(pk=item.pk)
    due.update(next_attempt_at=timezone.now() - dt.timedelta(hours=1))
    reconcile._redispatch_lost_units(timezone.now())
    assert sent == []
    paid.budget_daily_usd = Decimal("5.00")
    paid.save()
    due.update(next_attempt_at=timezone.now() - dt.timedelta(hours=1))
    reconcile._redispatch_lost_units(timezone.now())
    assert sent == [item.pk]
    task.refresh_from_db()
    assert (task.waiting_reason, task.next_attempt_at) == ("", None)
