"""Reads behind the cost, quota and dashboard screens. Query counts depend on the number of
channels (or their time zones), never on the number of tasks or cost rows."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from channels_app.models import Channel
from costs.models import Component, CostDay, CostOutcome, VideoCost, YouTubeQuotaUsage

PACIFIC = ZoneInfo("America/Los_Angeles")
ZERO = Decimal(0)


@dataclass
class ChannelSpend:
    channel: Channel
    days: list  # [(local date, usd)], oldest first
    today: Decimal = ZERO
    week: Decimal = ZERO
    # Over the `days` days: all spend, the part wasted on failed paid attempts, and what it
    # would cost at the real providers' prices.
    spent: Decimal = ZERO
    wasted: Decimal = ZERO
    would_be: Decimal = ZERO

    @property
    def today_ratio(self):
        return float(self.today / self.channel.budget_daily_usd)

    @property
    def week_ratio(self):
        return float(self.week / self.channel.budget_weekly_usd)

    @property
    def weeks(self):
        """[(Monday, usd)] of the weeks the days cover, oldest first."""
        totals = {}
        for day, usd in self.days:
            monday = day - dt.timedelta(days=day.weekday())
            totals[monday] = totals.get(monday, ZERO) + usd
        return sorted(totals.items())


# A local day is summarized into CostDay only this long after it ended: a cost row stamped just
# before midnight may still be in a transaction that has not committed.
SETTLE = dt.timedelta(hours=1)
NOTHING = (ZERO, ZERO, ZERO)


def _daily_sums(channel_ids, zone, *, start, end=None):
    """{(channel_id, local day): (usd, wasted usd, would-be usd)} summed in SQL."""
    rows = VideoCost.objects.filter(channel_id__in=channel_ids, created_at__gte=start)
    if end is not None:
        rows = rows.filter(created_at__lt=end)
    rows = (
        rows.annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("channel_id", "day")
        .annotate(
            day_usd=Sum("usd"),
            day_wasted=Sum("usd", filter=Q(outcome=CostOutcome.FAILED)),
            day_would_be=Sum("would_be_usd"),
        )
    )
    return {
        (row["channel_id"], row["day"]): (
            row["day_usd"],
            row["day_wasted"] or ZERO,
            row["day_would_be"],
        )
        for row in rows
    }


def _settled_days(channel_ids, zone_name, *, first, settled):
    """The sums of the local days first..settled-1, from CostDay; days not summarized yet are
    summed once (one query) and stored, so a month of history is not re-read on every view."""
    zone = ZoneInfo(zone_name)
    days = [first + dt.timedelta(days=n) for n in range((settled - first).days)]
    stored = {
        (row.channel_id, row.day): (row.usd, row.wasted_usd, row.would_be_usd)
        for row in CostDay.objects.filter(
            channel_id__in=channel_ids, zone=zone_name, day__gte=first, day__lt=settled
        )
    }
    missing = [(pk, day) for pk in channel_ids for day in days if (pk, day) not in stored]
    if missing:
        since = min(day for _, day in missing)
        summed = _daily_sums(
            sorted({pk for pk, _ in missing}),
            zone,
            start=dt.datetime.combine(since, dt.time.min, tzinfo=zone),
            end=dt.datetime.combine(settled, dt.time.min, tzinfo=zone),
        )
        fresh = {key: summed.get(key, NOTHING) for key in missing}
        CostDay.objects.bulk_create(
            [
                CostDay(
                    channel_id=pk,
                    zone=zone_name,
                    day=day,
                    usd=usd,
                    wasted_usd=wasted,
                    would_be_usd=would_be,
                )  # fmt: skip
                for (pk, day), (usd, wasted, would_be) in fresh.items()
            ],
            ignore_conflicts=True,  # another request stored the same sums meanwhile
        )
        stored.update(fresh)
    return stored


def channel_spend_overview(*, days=30, now=None, channels=None):
    """Per channel, spend per local day for the last `days` days (in the channel's time zone, the
    same days costs.services.budget_check counts), today's and this week's spend, and the days'
    wasted and would-be spend. Per distinct channel time zone: the settled days come from CostDay
    (summed once), the last day or two are summed live in SQL; never one Python step per cost
    row."""
    now = now or timezone.now()
    channels = list(channels if channels is not None else Channel.objects.order_by("id"))
    by_zone = {}
    for channel in channels:
        by_zone.setdefault(channel.timezone or "UTC", []).append(channel)
    sums, result = {}, {}
    for zone_name, members in by_zone.items():
        zone = ZoneInfo(zone_name)
        today = now.astimezone(zone).date()
        settled = (now - SETTLE).astimezone(zone).date()
        first = min(today - dt.timedelta(days=days - 1), today - dt.timedelta(days=today.weekday()))
        ids = [channel.pk for channel in members]
        sums.update(_settled_days(ids, zone_name, first=first, settled=settled))
        sums.update(
            _daily_sums(ids, zone, start=dt.datetime.combine(settled, dt.time.min, tzinfo=zone))
        )
        for channel in members:
            series = [
                (day, sums.get((channel.pk, day), NOTHING)[0])
                for day in (today - dt.timedelta(days=n) for n in range(days - 1, -1, -1))
            ]
            week_start = today - dt.timedelta(days=today.weekday())
            week = sum(
                (
                    sums.get((channel.pk, week_start + dt.timedelta(days=n)), NOTHING)[0]
                    for n in range(today.weekday() + 1)
                ),
                ZERO,
            )
            in_days = [sums.get((channel.pk, day), NOTHING) for day, _ in series]
            result[channel.pk] = ChannelSpend(
                channel,
                series,
                sums.get((channel.pk, today), NOTHING)[0],
                week,
                spent=sum((usd for usd, _, _ in in_days), ZERO),
                wasted=sum((wasted for _, wasted, _ in in_days), ZERO),
                would_be=sum((would_be for _, _, would_be in in_days), ZERO),
            )
    return [result[channel.pk] for channel in channels]


@dataclass
class VideoCosts:
    """One video's books: spend by component, the part of it wasted (paid attempts that failed),
    and what it would have cost at the real providers' prices (more than `total` in a
    rehearsal, where the local provider costs $0)."""

    components: dict = field(default_factory=dict)  # {component: usd}
    total: Decimal = ZERO
    wasted: Decimal = ZERO
    would_be: Decimal = ZERO
    made_again: Decimal = ZERO  # calls after a unit's first attempt: redos and retries

    @property
    def rehearsal(self):
        return self.would_be > self.total


def video_cost_breakdown(task_ids):
    """{task_id: VideoCosts} for the given tasks, in one grouped query (summed in SQL)."""
    rows = (
        VideoCost.objects.filter(task_id__in=list(task_ids))
        .order_by()
        .values("task_id", "component", "outcome")
        .annotate(
            again=Sum("usd", filter=Q(attempt__gt=1)),
            spent=Sum("usd"),
            would_be=Sum("would_be_usd"),
        )
    )
    breakdown = {}
    for row in rows:
        costs = breakdown.setdefault(row["task_id"], VideoCosts())
        component = row["component"]
        costs.components[component] = costs.components.get(component, ZERO) + row["spent"]
        costs.total += row["spent"]
        costs.would_be += row["would_be"]
        if row["outcome"] == CostOutcome.FAILED:
            costs.wasted += row["spent"]
        if row["again"] is not None:
            costs.made_again += row["again"]
    return breakdown


def spend_totals(overview, *, channel_id=""):
    """The books of channel_spend_overview's days, over all channels or one."""
    rows = [row for row in overview if not channel_id or row.channel.pk == channel_id]
    return VideoCosts(
        total=sum((row.spent for row in rows), ZERO),
        wasted=sum((row.wasted for row in rows), ZERO),
        would_be=sum((row.would_be for row in rows), ZERO),
    )


COMPONENTS = list(Component)


def cost_rows(*, start, end, channel_id=""):
    """Cost rows created on UTC days start..end (inclusive), oldest first, as tuples for CSV."""
    begin = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    rows = VideoCost.objects.filter(created_at__gte=begin, created_at__lt=until)
    if channel_id:
        rows = rows.filter(channel_id=channel_id)
    return rows.order_by("created_at", "id").values_list(
        "created_at",
        "channel_id",
        "task_id",
        "task__title",
        "component",
        "provider",
        "units",
        "unit_name",
        "usd",
        "api_calls",
    )


# --- YouTube quota ---------------------------------------------------------------------------


def pacific_today(now=None):
    return (now or timezone.now()).astimezone(PACIFIC).date()


def next_quota_reset(now=None):
    """The next midnight in America/Los_Angeles (when Google resets the daily quota)."""
    tomorrow = pacific_today(now) + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time.min, tzinfo=PACIFIC)


@dataclass
class QuotaDay:
    project: str
    date: dt.date
    uploads_used: int
    uploads_limit: int
    units_used: int
    units_limit: int
    exhausted_at: dt.datetime | None = None

    @property
    def uploads_ratio(self):
        return self.uploads_used / self.uploads_limit

    @property
    def units_ratio(self):
        return self.units_used / self.units_limit

    @property
    def level(self):
        """ "exhausted" at 100% (uploads are deferred), "warning" from 80%, else "ok"."""
        worst = max(self.uploads_ratio, self.units_ratio)
        if worst >= 1 or self.exhausted_at:
            return "exhausted"
        return "warning" if worst >= 0.8 else "ok"


@dataclass
class QuotaProject:
    project: str
    today: QuotaDay
    deferred: int
    history: list = field(default_factory=list)  # [QuotaDay], newest first
    channels: list = field(default_factory=list)


def quota_overview(*, now=None, days=7, deferred=None):
    """Per quota project: today's Pacific-day usage, the last `days` days, and the uploads
    deferred to the next reset (`deferred`: {quota project: tasks approved and waiting for quota},
    pipeline.selectors.uploads_waiting_for_quota)."""
    today = pacific_today(now)
    usage = list(YouTubeQuotaUsage.objects.filter(pacific_date__gt=today - dt.timedelta(days=days)))
    channels_by_project = {}
    for channel_id, project in Channel.objects.order_by("id").values_list("id", "quota_project"):
        channels_by_project.setdefault(project, []).append(channel_id)
    deferred = deferred or {}
    projects = sorted(set(channels_by_project) | {row.quota_project for row in usage})
    overview = []
    for project in projects:
        history = [
            QuotaDay(
                project,
                row.pacific_date,
                row.upload_calls_used,
                row.upload_calls_limit,
                row.units_used,
                row.units_limit,
                row.exhausted_at,
            )
            for row in sorted(usage, key=lambda r: r.pacific_date, reverse=True)
            if row.quota_project == project
        ]
        current = next((day for day in history if day.date == today), None) or QuotaDay(
            project, today, 0, settings.YOUTUBE_DAILY_UPLOADS, 0, settings.YOUTUBE_DAILY_UNITS
        )
        overview.append(
            QuotaProject(
                project,
                current,
                deferred.get(project, 0),
                history,
                channels_by_project.get(project, []),
            )
        )
    return overview


def cost_per_video(*, days=7, now=None):
    """{channel_id: (videos, usd per video)} over the cost rows of the last `days` days, in one
    grouped query."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    rows = (
        VideoCost.objects.filter(created_at__gte=since)
        .order_by()
        .values("channel_id")
        .annotate(videos=Count("task_id", distinct=True), usd=Sum("usd"))
    )
    return {row["channel_id"]: (row["videos"], row["usd"] / row["videos"]) for row in rows}
