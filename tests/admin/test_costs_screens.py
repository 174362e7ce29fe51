"""Spend against budgets, the CSV export, the quota screen and the dashboard show the numbers."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from costs.models import VideoCost, YouTubeQuotaUsage
from costs.selectors import channel_spend_overview, next_quota_reset, pacific_today
from costs.services import channel_spend
from pipeline.models import TaskEvent
from pipeline.status import Status
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db


def _cost(task, usd, when, component="video"):
    row = VideoCost.objects.create(
        task=task, channel_id=task.channel_id, component=component, provider="kie",
        units=Decimal(5), unit_name="clip_seconds", usd=Decimal(usd),
    )  # fmt: skip
    VideoCost.objects.filter(pk=row.pk).update(created_at=when)


def test_it_counts_days_and_weeks_as_the_budget_check_does():
    channel = ChannelFactory(id="tz", timezone="America/New_York")
    task = VideoTaskFactory(channel=channel)
    now = timezone.now()
    for hours in (1, 20, 30, 80, 200):
        _cost(task, "1.50", now - dt.timedelta(hours=hours))

    [row] = channel_spend_overview(now=now)

    assert (row.today, row.week) == channel_spend(channel=channel, now=now)
    assert len(row.days) == 30 and sum(usd for _, usd in row.days) == Decimal("7.50")


def test_it_draws_a_chart_and_the_per_video_breakdown(admin_client):
    task = VideoTaskFactory(channel=ChannelFactory(id="chart"), title="Charted")
    _cost(task, "2.00", timezone.now(), "video")
    _cost(task, "0.04", timezone.now(), "image")

    html = admin_client.get(reverse("spend")).content.decode()

    assert html.count('<svg class="vg-chart"') == 1
    assert "Charted" in html and "$2.04" in html and "$0.04" in html


def test_it_exports_the_costs_of_a_date_range_as_csv(admin_client):
    task = VideoTaskFactory(channel=ChannelFactory(id="csv"), title="=HYPERLINK(evil)")
    _cost(task, "1.25", dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC))
    _cost(task, "9.99", dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC))

    response = admin_client.get(
        reverse("spend-export"), {"start": "2026-03-01", "end": "2026-03-03"}
    )

    assert response["Content-Type"].startswith("text/csv")
    assert "costs-2026-03-01-2026-03-03.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["created_at_utc", "channel"]
    assert len(rows) == 2
    assert rows[1][1] == "csv" and rows[1][8] == "1.2500"
    assert rows[1][3] == "'=HYPERLINK(evil)"  # not a formula in a spreadsheet


def test_it_shows_quota_per_project_with_the_next_pacific_reset_and_deferred_uploads(admin_client):
    channel = ChannelFactory(id="q", quota_project="studio-a")
    YouTubeQuotaUsage.objects.create(
        quota_project="studio-a", pacific_date=pacific_today(), units_used=8500,
        upload_calls_used=100,
    )  # fmt: skip
    VideoTaskFactory(channel=channel, status=Status.APPROVED, waiting_reason="quota")

    html = admin_client.get(reverse("quota")).content.decode()

    assert "studio-a" in html and "100 / 100" in html and "8500 / 10000" in html
    assert '<td class="vg-num">1</td>' in html  # one upload deferred
    assert next_quota_reset().strftime("%Y-%m-%d %H:%M") in html
    assert next_quota_reset().astimezone(dt.UTC).hour in (7, 8)  # midnight Pacific


def test_it_shows_stuck_tasks_and_recent_failures_on_the_dashboard(admin_client, settings):
    channel = ChannelFactory(id="dash", name="Dash")
    old = timezone.now() - dt.timedelta(minutes=settings.PIPELINE_STUCK_MINUTES + 5)
    stuck = VideoTaskFactory(channel=channel, title="Stuck one", status=Status.GENERATING_VIDEO)
    stuck.__class__.objects.filter(pk=stuck.pk).update(status_changed_at=old)
    VideoTaskFactory(channel=channel, title="Moving one", status=Status.GENERATING_VIDEO)
    failed = VideoTaskFactory(channel=channel, title="Failed one", status=Status.VIDEO_ERROR)
    TaskEvent.objects.create(
        task=failed, from_status=Status.GENERATING_VIDEO, to_status=Status.VIDEO_ERROR,
        reason="videos s01: exit 65: safety block",
    )  # fmt: skip

    html = admin_client.get(reverse("dashboard")).content.decode()

    stuck_section = html[html.index('id="vg-stuck"') : html.index('id="vg-failures"')]
    assert "Stuck one" in stuck_section and "Moving one" not in stuck_section
    assert "safety block" in html[html.index('id="vg-failures"') :]
