"""Query counts do not grow with rows: every changelist and control-room page, with 200 tasks and
their work items, costs, reviews and audit rows, stays under a fixed number of queries."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLog
from costs.models import VideoCost, YouTubeQuotaUsage
from pipeline.models import TaskEvent, VideoTask, WorkItem, WorkState
from pipeline.status import Status
from reviews.models import Review
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory

pytestmark = pytest.mark.django_db

ROWS = 200
STATUSES = [Status.FINAL_REVIEW, Status.GENERATING_VIDEO, Status.VIDEO_READY, Status.VIDEO_ERROR]


@pytest.fixture
def many_rows(workspace):
    channels = [
        ChannelFactory(id=f"load{n}", review_gates=["video"] if n % 2 else [], timezone=zone)
        for n, zone in enumerate(["UTC", "America/New_York", "Europe/Paris", "UTC"])
    ]
    now = timezone.now()
    tasks = VideoTask.objects.bulk_create(
        VideoTask(
            channel=channels[(n // 2) % len(channels)],  # video gate on for odd channels
            title=f"Load video {n}",
            storyboard=SAMPLE_STORYBOARD,
            status=STATUSES[n % len(STATUSES)],
            status_changed_at=now - dt.timedelta(minutes=n),
        )
        for n in range(ROWS)
    )
    WorkItem.objects.bulk_create(
        WorkItem(
            task=task, step=step, unit=unit, script="x", provider="local",
            output_path="/dev/null", state=WorkState.DONE if n % 3 else WorkState.PENDING,
        )
        for n, task in enumerate(tasks)
        for step, unit in [("assets", "bulbasaur"), ("assets", "forest"), ("videos", "s01")]
    )  # fmt: skip
    VideoCost.objects.bulk_create(
        VideoCost(
            task=task, channel_id=task.channel_id, component=component, provider="local",
            units=Decimal(1), unit_name="images", usd=Decimal("0.04"),
        )
        for task in tasks
        for component in ("image", "video")
    )  # fmt: skip
    TaskEvent.objects.bulk_create(
        TaskEvent(task=task, from_status=Status.GENERATING_VIDEO, to_status=Status.VIDEO_ERROR)
        for task in tasks
    )
    Review.objects.bulk_create(
        Review(task=task, gate="final", decision="approved", reviewer_name="ada") for task in tasks
    )
    AuditLog.objects.bulk_create(
        AuditLog(actor="ada", action="review_approved", task=task, object_type="review")
        for task in tasks
    )
    YouTubeQuotaUsage.objects.create(
        quota_project="default", pacific_date=timezone.now().date(), units_used=9000
    )
    return tasks


# Measured counts plus a little room; the point is that none of them depends on ROWS. The spend
# screens make two queries per distinct channel time zone (three here): the settled days' stored
# sums and the live sum of the last day; plus, on the first view, the sum of the settled days not
# stored yet and their insert. The dashboard adds its 7-day step and cost-per-video queries.
PAGES = [
    ("admin:pipeline_videotask_changelist", 9),
    ("admin:reviews_review_changelist", 9),
    # + the channel and actor filters' choices (one query each, whatever the number of rows)
    ("admin:core_auditlog_changelist", 12),
    ("admin:costs_videocost_changelist", 10),
    ("admin:channels_app_channel_changelist", 8),
    ("admin:channels_app_channelsecret_changelist", 8),
    ("admin:costs_youtubequotausage_changelist", 10),
    ("reviews:queue", 8),
    ("dashboard", 26),
    ("spend", 20),
    ("quota", 7),
]


@pytest.mark.parametrize("name, limit", PAGES)
def test_it_renders_each_page_under_a_fixed_number_of_queries_with_200_tasks(
    admin_client, many_rows, django_assert_max_num_queries, name, limit
):
    with django_assert_max_num_queries(limit):
        response = admin_client.get(reverse(name))

    assert response.status_code == 200
    if name == "admin:pipeline_videotask_changelist":
        assert response.content.count(b'class="vg-progress"') == 100  # one bar per row
    if name == "reviews:queue":
        # every final review, and every video gate of a channel with that gate on
        assert len(re.findall(rb'href="/admin/review/[0-9a-f-]{36}/"', response.content)) == 100


def test_it_renders_the_review_page_under_a_fixed_number_of_queries(
    admin_client, many_rows, django_assert_max_num_queries
):
    task = next(task for task in many_rows if task.status == Status.FINAL_REVIEW)
    # 14, plus the redo-what-changed preview (work items' fingerprints), the publication preview
    # (the upload's marker) and the books (wasted and would-be spend): constant, however many
    # rows; plus the navigation's count of what waits for a person (the channels' gates and one
    # grouped count).
    with django_assert_max_num_queries(19):
        response = admin_client.get(reverse("reviews:task", args=[task.pk]))
    assert response.status_code == 200


def test_it_renders_the_notion_users_changelist_under_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries
):
    from django.contrib.auth import get_user_model

    from reviews.models import NotionUser

    # Mapped accounts need no password here (hashing one takes most of a second each).
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"mapped{n}", password="!") for n in range(ROWS)
    )
    NotionUser.objects.bulk_create(
        NotionUser(notion_user_id=f"00000000-0000-4000-8000-{n:012d}", user=user)
        for n, user in enumerate(users)
    )
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("admin:reviews_notionuser_changelist"))
    assert response.status_code == 200
    assert response.content.count(b'name="_selected_action"') == 100
