"""Costs: recording what a call cost, and the budget check made before a step spends."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Sum
from django.utils import timezone

from costs.models import VideoCost
from costs.prices import price


def video_cost_record(*, work_item, attempt, component, provider, usage, metadata=None):
    """One VideoCost row for one completed call. Unique on (work_item, attempt): recording the
    same call twice is refused by the database."""
    units, unit_name, usd = price(provider=provider, usage=usage)
    return VideoCost.objects.create(
        task_id=work_item.task_id,
        channel_id=work_item.task.channel_id,
        work_item=work_item,
        attempt=attempt,
        component=component,
        provider=provider,
        units=units,
        unit_name=unit_name,
        usd=usd,
        api_calls=1,
        metadata={"usage": usage, **(metadata or {})},
    )


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


def budget_check(*, channel, estimate_usd, now=None):
    """May the channel spend estimate_usd more now? If not, when may it try again."""
    now = now or timezone.now()
    estimate = Decimal(str(estimate_usd))
    day, week = channel_spend(channel=channel, now=now)
    day_start = _channel_day_start(channel, now)
    if estimate > 0 and day + estimate > channel.budget_daily_usd:
        return BudgetVerdict(
            False,
            day,
            week,
            estimate,
            f"daily budget ${channel.budget_daily_usd}: spent ${day:.2f} today, "
            f"this step needs about ${estimate:.2f}",
            day_start + dt.timedelta(days=1),
        )
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
        )
    return BudgetVerdict(True, day, week, estimate)


class BudgetOverrideInvalid(ValueError):
    """The override was refused; the message says why and nothing was changed."""


def _budget_amount(value, name):
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError as error:
        message = f"{name}: must be a number of dollars, got {value!r}"
        raise BudgetOverrideInvalid(message) from error
    if amount <= 0:
        raise BudgetOverrideInvalid(f"{name}: must be a positive number of dollars, got {amount}")
    return amount


def budget_override(*, channel, actor, daily_usd=None, weekly_usd=None, notes):
    """Change a channel's daily and/or weekly budget by hand, with the old and new values and the
    reason in the audit log. The channel's YAML file stays the source of truth: the next
    sync_channels sets the budgets from it again (edit the file to make a change last)."""
    from django.db import transaction

    from channels_app.models import Channel
    from reviews.services import audit_log_record

    if not (notes or "").strip():
        raise BudgetOverrideInvalid("a budget override needs notes: say why the budget changes")
    if daily_usd is None and weekly_usd is None:
        raise BudgetOverrideInvalid("a budget override needs a daily or a weekly budget")
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        before = {"daily_usd": locked.budget_daily_usd, "weekly_usd": locked.budget_weekly_usd}
        daily = (
            _budget_amount(daily_usd, "daily_usd") if daily_usd is not None else before["daily_usd"]
        )
        weekly = (
            _budget_amount(weekly_usd, "weekly_usd")
            if weekly_usd is not None
            else before["weekly_usd"]
        )
        if weekly < daily:
            raise BudgetOverrideInvalid(
                f"weekly budget ${weekly} is below the daily budget ${daily}; "
                "the weekly budget must be at least the daily one"
            )
        Channel.objects.filter(pk=locked.pk).update(
            budget_daily_usd=daily, budget_weekly_usd=weekly, updated_at=timezone.now()
        )
        audit_log_record(
            actor=actor,
            action="budget_override",
            object_type="channel",
            object_id=locked.pk,
            notes=notes.strip(),
            metadata={
                "daily_usd": [str(before["daily_usd"]), str(daily)],
                "weekly_usd": [str(before["weekly_usd"]), str(weekly)],
            },
        )
    channel.budget_daily_usd, channel.budget_weekly_usd = daily, weekly
    return channel
