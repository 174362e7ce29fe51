"""The books: every paid call is booked with its attempt and outcome (failed paid attempts apart,
as wasted spend), and a rehearsal books $0 with what it would cost at the real prices."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import Alert
from costs.models import CostDay, CostOutcome, VideoCost
from costs.prices import would_be_price
from costs.selectors import channel_spend_overview, spend_totals, video_cost_breakdown
from costs.services import failure_line, video_cost_record, video_cost_record_failed
from pipeline.models import WorkItem
from tests.factories import ChannelFactory, UserFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_channel():
    return ChannelFactory(
        id="paid",
        budget_per_video_usd=Decimal("1.00"),
        providers={"image": "gemini", "video": "kie", "voice": "elevenlabs", "upload": "local"},
    )


def work_item(task, step="sfx", unit="s01", provider="elevenlabs"):
    return WorkItem.objects.create(
        task=task, step=step, unit=unit, script="generate_sound_effects", provider=provider,
        output_path="/dev/null",
    )  # fmt: skip


def paid_failure(**extra):
    line = {"ok": False, "error": "loudness step failed", "retriable": True, "status": None}
    return "ffmpeg: error\n" + json.dumps({**line, **extra}) + "\n"


def test_it_books_a_failed_attempt_that_the_provider_charged_as_wasted(paid_channel):
    task = VideoTaskFactory(channel=paid_channel)
    item = work_item(task)

    failed = video_cost_record_failed(
        work_item=item, attempt=1, component="sfx", provider="elevenlabs",
        stderr=paid_failure(usage={"sfx": 1, "sfx_seconds": 5}, paid=True),
    )  # fmt: skip
    video_cost_record(
        work_item=item, attempt=2, component="sfx", provider="elevenlabs",
        usage={"sfx": 1, "sfx_seconds": 5},
    )  # fmt: skip

    assert failed.outcome == CostOutcome.FAILED
    assert failed.usd == Decimal("0.12")
    assert failed.metadata["error"] == "loudness step failed"
    books = video_cost_breakdown([task.pk])[task.pk]
    assert books.total == Decimal("0.24")
    assert books.wasted == Decimal("0.12")
    assert books.components == {"sfx": Decimal("0.24")}
    assert spend_totals(channel_spend_overview()).wasted == Decimal("0.12")


@pytest.mark.parametrize(
    "stderr",
    [
        "",
        "Traceback (most recent call last):\n  ...\nValueError: boom",
        paid_failure(),  # no usage, not paid
        paid_failure(usage={"sfx": 1}),  # usage but not said to be paid
        paid_failure(usage={"sfx": 1}, paid="yes"),  # only true is true
        paid_failure(usage="1 sfx", paid=True),  # usage must be a mapping
        '{"ok": false, "usage": {"sfx": 1}, "paid": true',  # cut off
        json.dumps({"ok": True, "usage": {"sfx": 1}, "paid": True}),
    ],
)
def test_it_books_nothing_for_a_failure_that_was_not_paid(paid_channel, stderr):
    item = work_item(VideoTaskFactory(channel=paid_channel))

    booked = video_cost_record_failed(
        work_item=item, attempt=1, component="sfx", provider="elevenlabs", stderr=stderr
    )

    assert booked is None
    assert not VideoCost.objects.exists()


def test_it_reads_only_the_last_stderr_line_as_the_failure_line():
    earlier = json.dumps({"ok": False, "paid": True, "usage": {"sfx": 1}})
    assert failure_line(f"{earlier}\nplain last line") is None
    assert failure_line(f"noise\n{earlier}\n\n")["paid"] is True


def test_it_books_a_reused_output_at_zero(paid_channel):
    item = work_item(VideoTaskFactory(channel=paid_channel))

    cost = video_cost_record(
        work_item=item, attempt=2, component="sfx", provider="elevenlabs",
        usage={"sfx": 1, "sfx_seconds": 5, "reused": True},
    )  # fmt: skip

    assert (cost.outcome, cost.usd, cost.would_be_usd, cost.api_calls) == (
        CostOutcome.REUSED, Decimal(0), Decimal(0), 0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("component", "usage", "expected"),
    [
        ("image", {"images": 1, "model": "local"}, Decimal("0.039")),
        ("video", {"clip_seconds": 10, "model": "local"}, Decimal("0.25")),  # v2.1 standard
        ("narration", {"characters": 2000, "model": "local-espeak"}, Decimal("0.20")),
        ("sfx", {"sfx": 1, "sfx_seconds": 10, "model": "local"}, Decimal("0.12")),
        ("composite", {}, Decimal(0)),
        ("assembly", {"clip_seconds": 60}, Decimal(0)),
    ],
)
def test_it_prices_a_local_call_at_the_real_provider_of_its_component(component, usage, expected):
    would_be = would_be_price(
        component=component, provider="local", usage=usage, model="kling/v2-1-standard"
    )
    assert would_be == expected


def test_it_books_zero_for_a_local_call_and_what_it_would_cost_for_real():
    channel = ChannelFactory(id="rehearsal", video_model="kling/v2-1-pro")
    item = work_item(VideoTaskFactory(channel=channel), step="videos", provider="local")

    cost = video_cost_record(
        work_item=item, attempt=1, component="video", provider="local",
        usage={"clip_seconds": 5, "model": "local"},
    )  # fmt: skip

    assert cost.usd == 0
    assert cost.would_be_usd == Decimal("0.25")  # the channel's model, $0.05 a second
    assert video_cost_breakdown([item.task_id])[item.task_id].rehearsal


def test_it_warns_once_when_a_video_costs_more_than_the_channel_expects(paid_channel):
    task = VideoTaskFactory(channel=paid_channel, title="Pricey")
    for attempt in range(1, 12):  # 11 sfx at $0.12: $1.32 against $1.00 expected
        video_cost_record(
            work_item=work_item(task, unit=f"s{attempt:02d}"), attempt=1, component="sfx",
            provider="elevenlabs", usage={"sfx": 1},
        )  # fmt: skip

    alerts = Alert.objects.filter(key=f"video-cost:{task.pk}")
    assert alerts.count() == 1
    alert = alerts.get()
    assert alert.level == "WARNING"
    assert "$1.08" in alert.message  # the ninth call passed $1.00
    assert "budget.per_video_usd" in alert.message


def test_it_does_not_warn_while_a_video_stays_in_its_expected_range(paid_channel):
    task = VideoTaskFactory(channel=paid_channel)
    for attempt in range(1, 9):  # $0.96
        video_cost_record(
            work_item=work_item(task, unit=f"s{attempt:02d}"), attempt=1, component="sfx",
            provider="elevenlabs", usage={"sfx": 1},
        )  # fmt: skip

    assert not Alert.objects.exists()


def test_the_spend_and_review_pages_show_wasted_spend_and_the_would_be_cost(client, paid_channel):
    client.force_login(UserFactory(is_superuser=True))
    rehearsal = VideoTaskFactory(channel=ChannelFactory(id="local1"), title="Rehearsal")
    for unit in ("s01", "s02"):
        video_cost_record(
            work_item=work_item(rehearsal, step="videos", unit=unit, provider="local"),
            attempt=1, component="video", provider="local",
            usage={"clip_seconds": 10, "model": "local"},
        )  # fmt: skip
    paid = VideoTaskFactory(channel=paid_channel, title="Paid")
    video_cost_record_failed(
        work_item=work_item(paid), attempt=1, component="sfx", provider="elevenlabs",
        stderr=paid_failure(usage={"sfx": 1}, paid=True),
    )  # fmt: skip

    spend = client.get("/admin/spend/").content.decode()
    review = client.get(f"/admin/review/{rehearsal.pk}/").content.decode()

    assert re.search(r'class="vg-would-be"[^>]*>\$0\.50<', spend)  # the "For real" column
    assert "$0.12 wasted" in spend
    assert "would cost $0.50 for real" in review


def test_the_spend_overview_stores_settled_days_and_sums_only_the_live_ones_again(
    paid_channel, django_assert_num_queries
):
    task = VideoTaskFactory(channel=paid_channel)
    for days_ago, usd in ((3, "1.00"), (2, "2.00"), (0, "4.00")):
        cost = VideoCost.objects.create(
            task=task, channel=paid_channel, component="image", provider="gemini", units=1,
            unit_name="images", usd=Decimal(usd), would_be_usd=Decimal(usd),
        )  # fmt: skip
        VideoCost.objects.filter(pk=cost.pk).update(
            created_at=timezone.now() - dt.timedelta(days=days_ago)
        )

    first = channel_spend_overview(days=30, channels=[paid_channel])[0]
    assert CostDay.objects.filter(channel=paid_channel).count() >= 28
    with django_assert_num_queries(2):  # the stored settled days, the live sum
        again = channel_spend_overview(days=30, channels=[paid_channel])[0]

    assert first.days == again.days
    assert again.spent == Decimal("7.00")
    assert again.today == Decimal("4.00")
    assert [usd for _, usd in again.days][-4:] == [
        Decimal("1.00"), Decimal("2.00"), 0, Decimal("4.00"),
    ]  # fmt: skip


def test_a_paid_call_whose_usage_is_unknown_is_booked_as_unknown_usage(paid_channel):
    item = work_item(VideoTaskFactory(channel=paid_channel), step="draft", unit="storyboard",
                     provider="gemini")  # fmt: skip
    usage = {"model": "gemini-3.8-flash", "calls": 1, "input_tokens": 0, "output_tokens": 0,
             "usage_unknown": True}  # fmt: skip

    booked = video_cost_record_failed(
        work_item=item, attempt=1, component="storyboard", provider="gemini",
        stderr=paid_failure(usage=usage, paid=True),
    )  # fmt: skip

    assert booked.unit_name == "unknown usage"
    assert booked.metadata["usage"]["usage_unknown"] is True
