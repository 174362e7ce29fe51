"""Alarms raised where the trouble is met: Notion throttled too long (real Redis), the database
unreachable from the web process (straight to Discord), the workspace under its critical free
space (new steps do not start), a channel's weekly budget reached (CRITICAL, its new steps pause)
against the daily one (WARNING, the video waits)."""

import datetime as dt
import secrets
import socket
from decimal import Decimal

import pytest
import redis
from django.db import connection
from django.utils import timezone

from core.models import Alert
from costs.models import VideoCost
from pipeline.integrations.ratelimit import NotionRateLimiter
from pipeline.models import WorkItem
from pipeline.services import step_run
from pipeline.status import Status
from pipeline.watchdog import heartbeat_record
from tests.factories import ChannelFactory, VideoTaskFactory
from tests.faults.test_watchdog import DiscordStandIn

pytestmark = pytest.mark.django_db


@pytest.fixture
def discord(settings):
    stand_in = DiscordStandIn()
    settings.DISCORD_WEBHOOK_URL = stand_in.url
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


def test_it_warns_when_notion_requests_wait_longer_than_the_threshold(settings):
    settings.NOTION_THROTTLED_ALERT_SECONDS = 1
    limiter = NotionRateLimiter(f"secret_{secrets.token_hex(8)}")
    limiter.pause(2.5)  # Notion answered 429 with Retry-After: every process waits

    limiter.acquire(timeout=10)

    alert = Alert.objects.get(key=f"notion-throttled:{limiter.key}")
    assert alert.level == "WARNING"
    assert "have waited 2 s" in alert.message or "have waited 3 s" in alert.message
    redis.Redis.from_url(settings.REDIS_URL).delete(f"notion:pause:{limiter.key}")


def test_it_does_not_warn_about_a_short_notion_wait(settings):
    settings.NOTION_THROTTLED_ALERT_SECONDS = 60
    limiter = NotionRateLimiter(f"secret_{secrets.token_hex(8)}")
    limiter.pause(0.5)

    limiter.acquire(timeout=10)

    assert not Alert.objects.exists()


def test_web_sends_a_critical_alarm_straight_to_discord_when_the_database_is_unreachable(
    client, monkeypatch, discord
):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", str(closed_port))
    monkeypatch.setattr("core.alerts._direct_sent", {})

    first = client.get("/health")
    second = client.get("/health")

    assert first.status_code == second.status_code == 503
    assert first.json()["failed"] == ["database"]
    assert discord.titles() == ["[CRITICAL] database unreachable from web"]  # deduplicated
    assert "Connection refused" in discord.posts[0]["embeds"][0]["description"]


def test_web_sends_nothing_while_the_database_answers(client, discord):
    for kind in ("worker", "beat"):
        heartbeat_record(kind=kind, hostname=f"{kind}@test")

    assert client.get("/health").status_code == 200
    assert discord.posts == []


def test_new_steps_do_not_start_under_the_critical_free_space(settings, workspace):
    settings.WORKSPACE_FREE_WARNING_GB = settings.WORKSPACE_FREE_CRITICAL_GB = 1_000_000
    task = VideoTaskFactory(channel=ChannelFactory(id="full"), status=Status.GENERATING_ASSETS)

    assert step_run(task.pk, "assets") == 0

    assert not WorkItem.objects.filter(task=task).exists()
    alert = Alert.objects.get(key="watchdog:workspace-space:CRITICAL")
    assert alert.level == "CRITICAL"
    assert "New steps do not start" in alert.message

    settings.WORKSPACE_FREE_WARNING_GB = settings.WORKSPACE_FREE_CRITICAL_GB = 0.001
    assert step_run(task.pk, "assets") == 2  # space again: the step starts


@pytest.fixture
def paid_channel():
    return ChannelFactory(
        id="paid",
        budget_daily_usd=Decimal("5.00"),
        budget_weekly_usd=Decimal("10.00"),
        providers={"image": "gemini", "video": "kie", "voice": "elevenlabs", "upload": "local"},
    )


def spent(channel, usd):
    VideoCost.objects.create(
        task=VideoTaskFactory(channel=channel), channel=channel, component="image",
        provider="gemini", units=1, unit_name="images", usd=Decimal(usd),
    )  # fmt: skip


def test_the_weekly_budget_reached_is_critical_and_pauses_the_channels_new_steps(
    paid_channel, workspace
):
    paid_channel.budget_daily_usd = paid_channel.budget_weekly_usd = Decimal("10.00")
    paid_channel.save()
    spent(paid_channel, "9.97")  # two images need $0.078 more
    first = VideoTaskFactory(channel=paid_channel, status=Status.GENERATING_ASSETS)
    second = VideoTaskFactory(channel=paid_channel, status=Status.GENERATING_ASSETS)

    assert step_run(first.pk, "assets") == 0
    assert step_run(second.pk, "assets") == 0

    # One alarm for the channel this week (the second task's is stored as a suppressed duplicate).
    alert = Alert.objects.get(level="CRITICAL", suppressed=False)
    assert "weekly budget reached, the channel's new steps pause" in alert.title
    today = timezone.now().date()
    monday = today + dt.timedelta(days=7 - today.weekday())
    for task in (first, second):
        task.refresh_from_db()
        assert task.waiting_reason == "budget"
        assert task.next_attempt_at == dt.datetime.combine(monday, dt.time.min, tzinfo=dt.UTC)
    assert not WorkItem.objects.filter(task__in=[first, second]).exclude(state="pending").exists()


def test_the_daily_budget_reached_stays_a_warning(paid_channel, workspace):
    spent(paid_channel, "4.95")  # daily $5: two images need $0.078 more
    task = VideoTaskFactory(channel=paid_channel, status=Status.GENERATING_ASSETS)

    assert step_run(task.pk, "assets") == 0

    alert = Alert.objects.get()
    assert alert.level == "WARNING"
    assert "daily budget reached, video waits" in alert.title
