"""Costs: recording what a call cost, and the budget check made before a step spends."""

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from core.alerts import alert_send
from core.models import Alert
from costs.models import CostOutcome, VideoCost
from costs.prices import price, would_be_price

log = structlog.get_logger(__name__)
# The unit name of a call that was answered (so maybe billed) with a bill we could not read: a
# script's usage says "usage_unknown": true. Its usd is what the readable calls of the run cost.
UNKNOWN_USAGE = "unknown usage"


def video_cost_record(*, work_item, attempt, component, provider, usage, metadata=None):
    """One VideoCost row for one completed call. Unique on (work_item, attempt): recording the
    same call twice is refused by the database. A script that reused a paid output it had kept
    (usage {"reused": true}) is booked as outcome "reused" at $0: that output was paid for by the
    attempt that downloaded it."""
    outcome = CostOutcome.REUSED if usage.get("reused") else CostOutcome.OK
    return _cost_create(work_item, attempt, component, provider, usage, outcome, metadata)


def video_cost_record_failed(*, work_item, attempt, component, provider, stderr, metadata=None):
    """Book an attempt that failed after the provider charged: the script's failure line (the last
    stderr line, `{"ok": false, ..., "usage": {...}, "paid": true}`) says so. Returns the row, or
    None when the failure cost nothing (no such line, or not `paid`)."""
    failure = failure_line(stderr)
    if not failure or failure.get("paid") is not True or not isinstance(failure.get("usage"), dict):
        return None
    usage = failure["usage"]
    try:
        with transaction.atomic():  # a savepoint: the caller still records the failure
            return _cost_create(
                work_item,
                attempt,
                component,
                provider,
                usage,
                CostOutcome.FAILED,
                {"error": str(failure.get("error") or "")[:500], **(metadata or {})},
            )
    except IntegrityError:
        log.warning("failed_attempt_already_booked", work_item=work_item.pk, attempt=attempt)
        return None


def failure_line(stderr):
    """The JSON object on the last non-empty stderr line of a failed script, or None."""
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    if not lines or not (lines[-1].startswith("{") and lines[-1].endswith("}")):
        return None
    try:
        value = json.loads(lines[-1])
    except ValueError:
        return None
    return value if isinstance(value, dict) and value.get("ok") is False else None


def _cost_create(work_item, attempt, component, provider, usage, outcome, metadata):
    units, unit_name, usd = price(provider=provider, usage=usage)
    channel = work_item.task.channel
    would_be = would_be_price(
        component=component, provider=provider, usage=usage, model=channel.video_model
    )
    if outcome == CostOutcome.REUSED:
        usd = would_be = Decimal(0)
    if usage.get("usage_unknown") is True:
        unit_name = UNKNOWN_USAGE  # the provider answered but its bill could not be read
    cost = VideoCost.objects.create(
        task_id=work_item.task_id,
        channel_id=channel.pk,
        work_item=work_item,
        attempt=attempt,
        component=component,
        provider=provider,
        units=units,
        unit_name=unit_name,
        usd=usd,
        would_be_usd=would_be,
        outcome=outcome,
        api_calls=0 if outcome == CostOutcome.REUSED else 1,
        metadata={"usage": usage, **(metadata or {})},
    )
    if usd > 0:
        video_cost_check_expected(task=work_item.task, channel=channel)
    return cost


def video_cost_check_expected(*, task, channel):
    """WARNING once per video when its cost passes the channel's expected cost per video
    (budget.per_video_usd in the channel file)."""
    key = f"video-cost:{task.pk}"
    if Alert.objects.filter(key=key).exists():
        return False  # once per video
    total = VideoCost.objects.filter(task_id=task.pk).aggregate(total=Sum("usd"))["total"] or 0
    if total <= channel.budget_per_video_usd:
        return False
    alert_send(
        level="WARNING",
        title=f"{channel.pk}: '{task.title}' costs more than expected",
        message=f"'{task.title}' has cost ${total:.2f} so far, above the channel's expected "
        f"${channel.budget_per_video_usd:.2f} a video (budget.per_video_usd in "
        f"channel_configs/{channel.pk}.yaml). Check its failed attempts and redos on the spend "
        "page.",
        key=key,
        fields={"task": str(task.pk), "cost": f"${total:.2f}"},
    )
    return True


def _channel_day_start(channel, now):
    zone = ZoneInfo(channel.timezone or "UTC")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def channel_spend(*, channel, now=None):
    """(spent today, spent this week) in the channel's own timezone; weeks start on Monday."""
    now = now or timezone.now()
    day_start = _channel_day_start(channel, now)
    week_start = day_start - dt.timedelta(days=day_start.weekday())
    rows = VideoCost.objects.filter(channel=channel, created_at__gte=week_start)
    week = rows.aggregate(total=Sum("usd"))["total"] or Decimal(0)
    day = rows.filter(created_at__gte=day_start).aggregate(total=Sum("usd"))["total"] or Decimal(0)
    return day, week


@dataclass(frozen=True)
class BudgetVerdict:
    allowed: bool
    spent_today: Decimal
    spent_week: Decimal
    estimate: Decimal
    reason: str = ""
    resume_at: dt.datetime | None = None
    period: str = ""  # the budget reached: "daily" (WARNING, waits) or "weekly" (CRITICAL)


def budget_check(*, channel, estimate_usd, now=None):
    """May the channel spend estimate_usd more now? If not, when may it try again."""
    now = now or timezone.now()
    estimate = Decimal(str(estimate_usd))
    day, week = channel_spend(channel=channel, now=now)
    day_start = _channel_day_start(channel, now)
    # The weekly budget first: it waits longer, and it is the one that pauses the channel.
    if estimate > 0 and week + estimate > channel.budget_weekly_usd:
        next_week = day_start + dt.timedelta(days=7 - day_start.weekday())
        return BudgetVerdict(
            False,
            day,
            week,
            estimate,
            f"weekly budget ${channel.budget_weekly_usd}: spent ${week:.2f} this week, "
            f"this step needs about ${estimate:.2f}",
            next_week,
            "weekly",
        )
    if estimate > 0 and day + estimate > channel.budget_daily_usd:
        return BudgetVerdict(
            False,
            day,
            week,
            estimate,
            f"daily budget ${channel.budget_daily_usd}: spent ${day:.2f} today, "
            f"this step needs about ${estimate:.2f}",
            day_start + dt.timedelta(days=1),
            "daily",
        )
    return BudgetVerdict(True, day, week, estimate)
