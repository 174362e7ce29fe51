"""The dashboard's 7-day step statistics per channel: success rate, median and p95 step duration
per video, retry rate, cost per video; in a bounded number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from costs.models import VideoCost
from costs.selectors import cost_per_video
from pipeline.models import WorkItem, WorkState
from pipeline.selectors import step_stats
from tests.factories import ChannelFactory, UserFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db


def unit(task, step, name, *, started, seconds, state=WorkState.DONE, attempts=1):
    return WorkItem.objects.create(
        task=task, step=step, unit=name, script="generate_video", provider="local",
        output_path="/dev/null", state=state, attempts=attempts, started_at=started,
        finished_at=started + dt.timedelta(seconds=seconds) if state != "running" else None,
    )  # fmt: skip


@pytest.fixture
def week():
    now = timezone.now()
    channel = ChannelFactory(id="stats")
    tasks = [VideoTaskFactory(channel=channel) for _ in range(4)]
    start = now - dt.timedelta(hours=2)
    for task, seconds in zip(tasks[:3], (10, 20, 100), strict=True):
        unit(task, "videos", "s01", started=start, seconds=seconds / 2)
        unit(task, "videos", "s02", started=start, seconds=seconds, attempts=2)
    unit(tasks[3], "videos", "s01", started=start, seconds=5, state=WorkState.FAILED, attempts=3)
    unit(tasks[0], "assets", "forest", started=start, seconds=4)
    unit(tasks[0], "draft", "storyboard", started=start, seconds=3)
    old = VideoTaskFactory(channel=channel)
    unit(old, "videos", "s01", started=now - dt.timedelta(days=8), seconds=999)
    for task, usd in ((tasks[0], "6.00"), (tasks[1], "10.00")):
        VideoCost.objects.create(
            task=task, channel=channel, component="video", provider="kie", units=5,
            unit_name="clip_seconds", usd=Decimal(usd),
        )  # fmt: skip
    return channel, now


def test_it_reports_each_steps_success_durations_and_retries_over_seven_days(week):
    channel, now = week

    stats = step_stats(days=7, now=now)[channel.pk]

    assert [entry.step for entry in stats] == ["draft", "assets", "videos"]
    videos = stats[2]
    assert (videos.done, videos.failed) == (6, 1)
    assert videos.success_rate == pytest.approx(6 / 7)
    assert sorted(videos.durations) == [10, 20, 100]  # the 8-day-old video is left out
    assert videos.median_seconds == 20
    assert videos.p95_seconds == 100
    assert (videos.retries, videos.attempts) == (5, 12)  # 3 second attempts + 2 retries of one
    assert videos.retry_rate == pytest.approx(5 / 12)


def test_it_reports_the_cost_per_video(week):
    channel, now = week

    assert cost_per_video(days=7, now=now)[channel.pk] == (2, Decimal("8.00"))


def test_the_dashboard_shows_the_step_table_in_few_queries(
    week, client, django_assert_max_num_queries
):
    client.force_login(UserFactory(is_superuser=True))

    with django_assert_max_num_queries(20):
        response = client.get("/admin/dashboard/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Steps over the last 7 days" in page
    assert "$8.00" in page
    assert "86 %" in page  # 6 of 7 video units succeeded
