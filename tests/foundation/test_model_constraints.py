"""Every CheckConstraint and UniqueConstraint of our models, violated on real PostgreSQL.

Each case writes one row that breaks exactly one constraint and expects the database (not model
validation: objects.create() skips it) to refuse it, naming the constraint. A constraint added to
a model without a case here fails test_it_covers_every_declared_constraint.
"""

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from channels_app.models import ChannelSecret
from core.models import AuditLog
from costs.models import CostDay, VideoCost, YouTubeQuotaUsage
from pipeline.models import Heartbeat, ProviderSlot, Upload, Video, VideoTask, WorkItem
from reviews.models import Review
from tests.factories import ChannelFactory, VideoTaskFactory

OUR_APPS = ("core", "channels_app", "pipeline", "reviews", "costs")


def _channel(**fields):
    return ChannelFactory(**fields)


def _secret(**fields):
    values = {"channel": ChannelFactory(id="secretive"), "name": "notion_token", "value": "tok"}
    return ChannelSecret.objects.create(**{**values, **fields})


def _task(**fields):
    return VideoTaskFactory(**fields)


def _work_item(**fields):
    values = {
        "task": VideoTaskFactory(),
        "step": "assets",
        "unit": "forest",
        "script": "generate_asset",
        "provider": "local",
        "output_path": "assets/forest.png",
    }
    return WorkItem.objects.create(**{**values, **fields})


def _video(**fields):
    return Video.objects.create(**{"task": VideoTaskFactory(), "final_path": "final.mp4", **fields})


def _upload(**fields):
    return Upload.objects.create(**{"task": VideoTaskFactory(), **fields})


def _second_upload_of_one_video():
    _upload(state="done", video_id="dQw4w9WgXcQ")
    _upload(state="done", video_id="dQw4w9WgXcQ")


def _review(**fields):
    values = {
        "task": VideoTaskFactory(),
        "gate": "final",
        "decision": "approved",
        "reviewer_name": "ada",
    }
    return Review.objects.create(**{**values, **fields})


def _audit(**fields):
    return AuditLog.objects.create(**{"actor": "ada", "action": "approve", **fields})


def _cost(**fields):
    task = fields.pop("task", None) or VideoTaskFactory()
    values = {
        "task": task,
        "channel": task.channel,
        "component": "image",
        "provider": "local",
        "units": Decimal("1"),
        "unit_name": "images",
        "usd": Decimal("0.04"),
    }
    return VideoCost.objects.create(**{**values, **fields})


def _quota(**fields):
    values = {"quota_project": "default", "pacific_date": datetime.date(2026, 6, 1)}
    return YouTubeQuotaUsage.objects.create(**{**values, **fields})


def _second_secret():
    first = _secret()
    ChannelSecret.objects.create(channel=first.channel, name=first.name, value="other")


def _second_work_item():
    first = _work_item()
    _work_item(task=first.task)


def _second_provider_slot():
    ProviderSlot.objects.create(provider="kie", index=0)
    ProviderSlot.objects.create(provider="kie", index=0)


def _second_cost_for_one_call():
    first = _cost()
    item = _work_item(task=first.task)
    _cost(task=first.task, work_item=item, attempt=2)
    _cost(task=first.task, work_item=item, attempt=2)


def _heartbeat(**fields):
    now = timezone.now()
    values = {"kind": "worker", "hostname": "w1@host", "seen_at": now, "started_at": now}
    return Heartbeat.objects.create(**{**values, **fields})


def _second_heartbeat_of_one_process():
    _heartbeat()
    _heartbeat()


def _second_cost_day():
    channel = ChannelFactory()
    for _ in range(2):
        CostDay.objects.create(channel=channel, zone="UTC", day=datetime.date(2026, 6, 1))


def _second_quota_day():
    _quota()
    _quota()


VIOLATIONS = {
    # channels_app.Channel
    "channel_budget_daily_positive": lambda: _channel(
        budget_daily_usd=Decimal("0"), budget_weekly_usd=Decimal("10")
    ),
    "channel_budget_weekly_at_least_daily": lambda: _channel(
        budget_daily_usd=Decimal("20"), budget_weekly_usd=Decimal("19.99")
    ),
    "channel_max_concurrent_positive": lambda: _channel(max_concurrent=0),
    "channel_priority_valid": lambda: _channel(priority="urgent"),
    "channel_privacy_valid": lambda: _channel(privacy="secret"),
    "channel_schedule_valid": lambda: _channel(schedule="hourly"),
    # channels_app.ChannelSecret
    "channel_secret_unique_name": _second_secret,
    "channel_secret_name_valid": lambda: _secret(name="aws_key"),
    # pipeline.VideoTask
    "task_status_valid": lambda: _task(status="done"),
    "task_priority_valid": lambda: _task(priority="urgent"),
    "task_failed_step_valid": lambda: _task(failed_step="thumbnails"),
    # pipeline.WorkItem
    "work_item_unique_unit": _second_work_item,
    "work_item_step_valid": lambda: _work_item(step="thumbnails"),
    "work_item_state_valid": lambda: _work_item(state="paused"),
    "work_item_running_has_lease": lambda: _work_item(
        state="running", lease_owner="", lease_expires_at=timezone.now()
    ),
    # pipeline.ProviderSlot
    "provider_slot_unique": _second_provider_slot,
    # pipeline.Video
    "video_duration_positive": lambda: _video(duration_seconds=0),
    "video_size_positive": lambda: _video(size_bytes=-1),
    # pipeline.Upload
    "upload_state_valid": lambda: _upload(state="sent"),
    "upload_done_has_video_id": lambda: _upload(state="done", video_id=""),
    "upload_bytes_within_total": lambda: _upload(bytes_confirmed=11, total_bytes=10),
    "upload_video_id_unique": _second_upload_of_one_video,
    # reviews.Review
    "review_gate_valid": lambda: _review(gate="thumbnail"),
    "review_decision_valid": lambda: _review(decision="maybe"),
    "review_reviewer_named": lambda: _review(reviewer_name=""),
    # core.AuditLog
    "audit_actor_named": lambda: _audit(actor=""),
    "audit_action_named": lambda: _audit(action=""),
    # costs.VideoCost
    "video_cost_one_per_call": _second_cost_for_one_call,
    "video_cost_usd_nonnegative": lambda: _cost(usd=Decimal("-0.01")),
    "video_cost_units_nonnegative": lambda: _cost(units=Decimal("-1")),
    "video_cost_component_valid": lambda: _cost(component="thumbnail"),
    "video_cost_would_be_usd_nonnegative": lambda: _cost(would_be_usd=Decimal("-0.01")),
    "video_cost_outcome_valid": lambda: _cost(outcome="refunded"),
    # costs.CostDay
    "cost_day_one_per_channel_zone_day": _second_cost_day,
    # pipeline.Heartbeat
    "heartbeat_one_per_process": _second_heartbeat_of_one_process,
    "heartbeat_kind_valid": lambda: _heartbeat(kind="flower"),
    # costs.YouTubeQuotaUsage
    "quota_usage_one_per_project_day": _second_quota_day,
    "quota_units_limit_positive": lambda: _quota(units_limit=0),
    "quota_upload_limit_positive": lambda: _quota(upload_calls_limit=0),
}


def _declared_constraints():
    names = set()
    for label in OUR_APPS:
        for model in apps.get_app_config(label).get_models():
            for constraint in model._meta.constraints:
                if isinstance(constraint, models.CheckConstraint | models.UniqueConstraint):
                    names.add(constraint.name)
    return names


def test_it_covers_every_declared_constraint():
    assert set(VIOLATIONS) == _declared_constraints()


@pytest.mark.django_db
@pytest.mark.parametrize("constraint", sorted(VIOLATIONS))
def test_it_refuses_a_row_that_breaks(constraint):
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        VIOLATIONS[constraint]()
    assert constraint in str(caught.value)


@pytest.mark.django_db
def test_it_refuses_a_running_work_item_whose_lease_has_no_expiry():
    with pytest.raises(IntegrityError, match="work_item_running_has_lease"), transaction.atomic():
        _work_item(state="running", lease_owner="worker-1", lease_expires_at=None)


@pytest.mark.django_db
def test_it_refuses_a_second_video_for_one_task():
    first = _video()
    with pytest.raises(IntegrityError), transaction.atomic():
        Video.objects.create(task=first.task, final_path="again.mp4")


@pytest.mark.django_db
@pytest.mark.django_db
def test_it_refuses_negative_upload_progress():
    with pytest.raises(IntegrityError, match="upload_bytes_within_total"), transaction.atomic():
        _upload(bytes_confirmed=-1)


@pytest.mark.django_db
def test_it_refuses_a_second_upload_row_for_one_task():
    first = _upload()
    with pytest.raises(IntegrityError), transaction.atomic():
        Upload.objects.create(task=first.task)


@pytest.mark.django_db
def test_it_accepts_many_uploads_still_without_a_video_id():
    _upload(bytes_confirmed=5, total_bytes=0)
    _upload(state="unknown")

    assert Upload.objects.filter(video_id="").count() == 2


@pytest.mark.django_db
def test_it_accepts_rows_that_keep_every_constraint():
    channel = _channel(
        budget_daily_usd=Decimal("20"), budget_weekly_usd=Decimal("20"), max_concurrent=1
    )
    task = _task(channel=channel, failed_step="videos", status="video_error")
    _secret(channel=channel)
    item = _work_item(
        task=task, state="running", lease_owner="worker-1", lease_expires_at=timezone.now()
    )
    _video(task=task, duration_seconds=90.5, size_bytes=1)
    _review(task=task)
    _audit(task=task)
    _cost(task=task, work_item=item, usd=Decimal("0"), units=Decimal("0"))
    _cost(task=task, work_item=item, attempt=2)
    _cost(task=task)  # costs without a work item (e.g. an upload) are not limited to one
    _cost(task=task)
    _quota()
    _quota(quota_project="second")
    ProviderSlot.objects.create(provider="kie", index=0)
    ProviderSlot.objects.create(provider="kie", index=1)

    assert VideoTask.objects.get(pk=task.pk).failed_step == "videos"
