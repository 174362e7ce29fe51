"""How a task looks in the admin: its status as the board column, coloured by lifecycle group, and
a progress bar of scenes done per step. Used by the admin classes and the review templates alike,
so a task looks the same everywhere."""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils.html import format_html, format_html_join

from pipeline.status import STEP_ORDER, Status, lifecycle_group

register = template.Library()

# One colour per lifecycle group (pipeline.status.LIFECYCLE_GROUPS).
GROUP_COLOURS = {
    "pending": "#6c757d",
    "claimed": "#5b6ee1",
    "processing": "#2f80ed",
    "awaiting_review": "#b7791f",
    "approved": "#1a9c8c",
    "completed": "#2e8540",
    "failed": "#c0392b",
}
GROUP_LABELS = {
    "pending": "Pending",
    "claimed": "Claimed",
    "processing": "Processing",
    "awaiting_review": "Awaiting review",
    "approved": "Approved",
    "completed": "Completed",
    "failed": "Failed",
}


@register.simple_tag
def status_badge(status, cancelled=False):
    """The board column of a status, on the colour of its lifecycle group."""
    group = lifecycle_group(status)
    badge = format_html(
        '<span class="vg-status vg-group-{}" title="{}" style="display:inline-block;'
        "padding:1px 8px;border-radius:10px;color:#fff;background:{};white-space:nowrap;"
        'font-size:11px;font-weight:600">{}</span>',
        group,
        GROUP_LABELS[group],
        GROUP_COLOURS[group],
        Status(status).label,
    )
    if cancelled:
        return format_html('{} <span style="color:#6c757d">(cancelled)</span>', badge)
    return badge


@register.simple_tag
def progress_bar(progress):
    """progress: {step: (done, total)} in pipeline order (pipeline.selectors.task_progress)."""
    if not progress:
        return format_html('<span style="color:#6c757d">{}</span>', "not started")
    done = sum(d for d, _ in progress.values())
    total = sum(t for _, t in progress.values())
    segments = format_html_join(
        "",
        '<span title="{}: {} of {} done" style="display:inline-block;width:22px;height:9px;'
        "margin-right:2px;border-radius:2px;background:linear-gradient(to right,"
        '#2e8540 {}%,#d9dee3 {}%)"></span>',
        (
            (step, step_done, step_total, pct, pct)
            for step in STEP_ORDER
            if step in progress
            for step_done, step_total in [progress[step]]
            for pct in [round(100 * step_done / step_total) if step_total else 0]
        ),
    )
    return format_html(
        '<span class="vg-progress" style="white-space:nowrap">{}'
        '<small style="margin-left:4px">{}/{}</small></span>',
        segments,
        done,
        total,
    )


@register.filter
def group_colour(group):
    return GROUP_COLOURS.get(group, "#6c757d")


@register.filter
def group_label(group):
    return GROUP_LABELS.get(group, group)


@register.filter
def short_duration(delta):
    """A timedelta as the two largest units: "2 d 3 h", "3 h 20 min", "45 min", "20 s"."""
    seconds = max(int(delta.total_seconds()), 0)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


@register.simple_tag
def meter(ratio):
    """A small bar for used/limit: green, amber from 80%, red at 100%."""
    ratio = float(ratio or 0)
    level = "vg-exhausted" if ratio >= 1 else "vg-warning" if ratio >= 0.8 else "vg-ok"
    return format_html(
        '<span class="vg-meter" title="{}%"><span class="{}" style="width:{}%"></span></span>',
        round(ratio * 100),
        level,
        min(100, round(ratio * 100)),
    )


@register.simple_tag
def when(moment, zone=""):
    """A moment in one format, in `zone` (the channel's time zone; UTC when none), with UTC on
    hover: <time title="2026-12-03 22:16 UTC">2026-12-03 14:16 PST</time>."""
    if not moment:
        return "-"
    try:
        local = moment.astimezone(ZoneInfo(zone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        local = moment.astimezone(dt.UTC)
    utc = moment.astimezone(dt.UTC)
    return format_html(
        '<time datetime="{}" title="{} UTC" style="white-space:nowrap">{} {}</time>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        local.strftime("%Y-%m-%d %H:%M"),
        local.tzname(),
    )
