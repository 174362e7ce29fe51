"""The control room's costs, quota and dashboard pages, inside the admin (admin_view in
videogen/urls.py: staff only, anonymous users get the admin login). It shows tasks beside their
costs, so it lives in pipeline, above costs. Reads are in costs.selectors (spend, quota) and
pipeline.selectors (tasks: groups, failures, step statistics, uploads waiting for quota)."""

import csv
import datetime as dt

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from channels_app.models import Channel
from costs.charts import spend_chart_svg
from costs.selectors import (
    COMPONENTS,
    VideoCosts,
    channel_spend_overview,
    cost_per_video,
    cost_rows,
    next_quota_reset,
    quota_overview,
    spend_totals,
    video_cost_breakdown,
)
from pipeline.models import VideoTask
from pipeline.selectors import (
    GROUP_ORDER,
    recent_failures,
    step_stats,
    tasks_stuck,
    uploads_waiting_for_quota,
    videos_by_group,
)

VIDEOS_PER_PAGE = 50
LIST_LIMIT = 50
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXPORT_MAX_DAYS = 3660  # ten years of costs in one file


def _require(request, *permissions):
    if not any(request.user.has_perm(permission) for permission in permissions):
        raise PermissionDenied(f"this page needs one of: {', '.join(permissions)}")


def _context(request, **extra):
    # Full width: these pages are wide tables and a player, not a model list.
    return {**admin.site.each_context(request), "is_nav_sidebar_enabled": False, **extra}


@require_GET
def spend(request):
    _require(request, "costs.view_videocost")
    channel_id = request.GET.get("channel", "")
    overview = channel_spend_overview(days=30)
    charts = [(row, spend_chart_svg(row.days, row.channel.budget_daily_usd)) for row in overview]
    tasks = VideoTask.objects.select_related("channel")
    if channel_id:
        tasks = tasks.filter(channel_id=channel_id)
    page = Paginator(tasks.order_by("-created_at"), VIDEOS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    breakdown = video_cost_breakdown(task.pk for task in page)
    empty = VideoCosts()
    videos = []
    for task in page:
        costs = breakdown.get(task.pk, empty)
        videos.append(
            {
                "task": task,
                "costs": costs,
                "components": [costs.components.get(c.value, 0) for c in COMPONENTS],
                "made_again": costs.made_again,
            }
        )
    today = timezone.now().date()
    return TemplateResponse(
        request,
        "costs/spend.html",
        _context(
            request,
            title="Spend and budgets",
            charts=charts,
            videos=videos,
            components=COMPONENTS,
            page=page,
            channels=[row.channel for row in overview],
            channel_id=channel_id,
            totals=spend_totals(overview, channel_id=channel_id),
            days=30,
            export_start=(today - dt.timedelta(days=29)).isoformat(),
            export_end=today.isoformat(),
        ),
    )


class _Echo:
    def write(self, value):
        return value


def _csv_cell(value):
    """Text a spreadsheet could run as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


class ExportRefused(ValueError):
    pass


def _query_date(query, name):
    text = query.get(name, "")
    try:
        value = parse_date(text) if text else None
    except ValueError:
        value = None
    if text and value is None:
        raise ExportRefused(f"{name}: {text!r} is not a date; use YYYY-MM-DD")
    return value


def export_range(query, today):
    """(start, end) of the export: the query's dates in order, the last 30 days by default, the
    end at most today (no cost is booked later) and the range at most EXPORT_MAX_DAYS long."""
    start = _query_date(query, "start") or today - dt.timedelta(days=29)
    end = _query_date(query, "end") or today
    start, end = sorted((start, end))
    end = min(end, today)
    start = min(max(start, end - dt.timedelta(days=EXPORT_MAX_DAYS - 1)), end)
    return start, end


def export_channel(query):
    """The channel to export ("" for all); only a channel we have."""
    channel_id = query.get("channel", "")
    if channel_id and not Channel.objects.filter(pk=channel_id).exists():
        raise ExportRefused(f"channel: no channel {channel_id!r}; choose one on the spend page")
    return channel_id


@require_GET
def spend_export(request):
    _require(request, "costs.view_videocost")
    try:
        start, end = export_range(request.GET, timezone.now().date())
        channel_id = export_channel(request.GET)
    except ExportRefused as refused:
        return HttpResponseBadRequest(
            f"The costs were not exported: {refused}", content_type="text/plain; charset=utf-8"
        )
    writer = csv.writer(_Echo())
    header = [
        "created_at_utc",
        "channel",
        "task_id",
        "title",
        "component",
        "provider",
        "units",
        "unit_name",
        "usd",
        "api_calls",
    ]

    def lines():
        yield writer.writerow(header)
        for row in cost_rows(start=start, end=end, channel_id=channel_id).iterator(2000):
            created, *rest = row
            yield writer.writerow(
                [created.astimezone(dt.UTC).isoformat(), *(_csv_cell(v) for v in rest)]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    suffix = f"-{channel_id}" if channel_id else ""
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"costs{suffix}-{start.isoformat()}-{end.isoformat()}.csv"
    )
    return response


@require_GET
def quota(request):
    _require(request, "costs.view_youtubequotausage", "costs.view_videocost")
    now = timezone.now()
    return TemplateResponse(
        request,
        "costs/quota.html",
        _context(
            request,
            title="YouTube quota",
            projects=quota_overview(now=now, deferred=uploads_waiting_for_quota()),
            next_reset=next_quota_reset(now),
            until_reset=next_quota_reset(now) - now,
        ),
    )


@require_GET
def dashboard(request):
    _require(request, "pipeline.view_videotask", "reviews.can_review")
    now = timezone.now()
    channels = list(Channel.objects.order_by("id"))
    groups = videos_by_group(channels)
    spend_rows = channel_spend_overview(days=7, now=now, channels=channels)
    steps = step_stats(days=7, now=now)
    per_video = cost_per_video(days=7, now=now)
    rows = [
        {
            "channel": row.channel,
            "groups": [groups[row.channel.pk][group] for group in GROUP_ORDER],
            "spend": row,
            "steps": steps.get(row.channel.pk, []),
            "per_video": per_video.get(row.channel.pk),
        }
        for row in spend_rows
    ]
    stuck = tasks_stuck(now=now)
    failures = recent_failures(now=now)
    return TemplateResponse(
        request,
        "costs/dashboard.html",
        _context(
            request,
            title="Dashboard",
            rows=rows,
            group_order=GROUP_ORDER,
            stuck=list(stuck.select_related("channel")[:LIST_LIMIT]),
            stuck_count=stuck.count(),
            failures=list(failures[:LIST_LIMIT]),
            failure_count=failures.count(),
            stuck_minutes=settings.PIPELINE_STUCK_MINUTES,
            now=now,
        ),
    )
