"""The YouTube Data API quota ledger: per Google Cloud project, per Pacific day.

YouTube resets quota at midnight Pacific time (America/Los_Angeles, so the day is 23 or 25 hours
long on daylight-saving change days). Since the 2026-06-01 revision videos.insert draws on its
own bucket of calls; every other method we use draws units from the shared bucket. A call is
reserved here before it is made; when a bucket cannot cover it, or YouTube itself answered
quotaExceeded today, the caller waits for the next reset instead of failing.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.alerts import alert_send
from costs.models import YouTubeQuotaUsage, YouTubeUploadHold

log = structlog.get_logger(__name__)

PACIFIC = ZoneInfo("America/Los_Angeles")
UPLOADS = "uploads"  # the videos.insert bucket, counted in calls
UNITS = "units"  # the shared bucket, counted in units

# What each method costs, and from which bucket. The next revision is a change here.
METHOD_COSTS = {
    "videos.insert": (UPLOADS, 1),
    "thumbnails.set": (UNITS, 50),
    "videos.update": (UNITS, 50),
    "videos.list": (UNITS, 1),
    "channels.list": (UNITS, 1),
    "playlistItems.list": (UNITS, 1),
}
WARNING_FRACTION = 0.8
UPLOAD_LIMIT_WAIT = dt.timedelta(hours=24)  # uploadLimitExceeded: "retry after 24 hours"


class QuotaUnavailable(Exception):
    """Not enough quota left today for `method`; it may be called again after `until`."""

    def __init__(self, project, method, until, reason):
        super().__init__(project, method, until, reason)
        self.project, self.method, self.until, self.reason = project, method, until, reason

    def __str__(self):
        return (
            f"YouTube quota of project {self.project!r}: {self.reason}; {self.method} waits "
            f"until the reset at {self.until.astimezone(PACIFIC):%Y-%m-%d %H:%M %Z}"
        )


def pacific_date(now):
    return now.astimezone(PACIFIC).date()


def next_reset(now):
    """The next midnight in Pacific time after `now` (aware), as an aware UTC datetime."""
    tomorrow = pacific_date(now) + dt.timedelta(days=1)
    # Midnight exists on every Pacific day (the clocks change at 02:00), so this is unambiguous.
    return dt.datetime.combine(tomorrow, dt.time(0, 0), tzinfo=PACIFIC).astimezone(dt.UTC)


def _usage_row(project, day):
    row, _ = YouTubeQuotaUsage.objects.get_or_create(
        quota_project=project,
        pacific_date=day,
        defaults={
            "units_limit": settings.YOUTUBE_DAILY_UNITS,
            "upload_calls_limit": settings.YOUTUBE_DAILY_UPLOADS,
        },
    )
    return row


def _bucket_fields(bucket):
    if bucket == UPLOADS:
        return "upload_calls_used", "upload_calls_limit", "upload calls"
    return "units_used", "units_limit", "units"


def quota_reserve(project, method, *, now=None):
    """Count one call of `method` against today's quota of `project`, or raise QuotaUnavailable
    (with the next reset time) when it cannot be covered. The row is locked for the check and
    the increment, so concurrent workers cannot both take the last unit."""
    now = now or timezone.now()
    bucket, cost = METHOD_COSTS[method]
    used_field, limit_field, what = _bucket_fields(bucket)
    day = pacific_date(now)
    with transaction.atomic():
        _usage_row(project, day)
        row = YouTubeQuotaUsage.objects.select_for_update().get(
            quota_project=project, pacific_date=day
        )
        if row.exhausted_at:
            raise QuotaUnavailable(
                project, method, next_reset(now), "YouTube answered quotaExceeded today"
            )
        used, limit = getattr(row, used_field), getattr(row, limit_field)
        if used + cost > limit:
            raise QuotaUnavailable(
                project, method, next_reset(now), f"{used} of {limit} {what} used today"
            )
        setattr(row, used_field, used + cost)
        row.save(update_fields=[used_field, "updated_at"])
    _alert_thresholds(row, day, bucket, before=used, after=used + cost, limit=limit, what=what)
    log.info("youtube_quota_reserved", project=project, method=method, cost=cost)
    return row


def _alert_thresholds(row, day, bucket, *, before, after, limit, what):
    """Alert once per bucket and day when usage crosses 80% and 100%: the increment happened under
    the row lock, so exactly one reservation sees each crossing."""
    project = row.quota_project
    reset = next_reset(dt.datetime.combine(day, dt.time(12), tzinfo=PACIFIC))
    when = f"{reset.astimezone(PACIFIC):%Y-%m-%d %H:%M %Z}"
    if before < limit <= after:
        alert_send(
            level="CRITICAL",
            title=f"YouTube quota of project {project} used up for {day}",
            message=f"{after} of {limit} {what} used. Uploads wait for the reset at {when}.",
            key=f"youtube-quota:{project}:{day}:{bucket}:100",
        )
    elif before < WARNING_FRACTION * limit <= after:
        alert_send(
            level="WARNING",
            title=f"YouTube quota of project {project} at 80% for {day}",
            message=f"{after} of {limit} {what} used; the quota resets at {when}.",
            key=f"youtube-quota:{project}:{day}:{bucket}:80",
        )


def quota_record_exceeded(project, *, now=None):
    """YouTube answered 403 quotaExceeded: the project's day is over, whatever our counts say.
    Nothing is called again for it before the next reset. Returns that reset time."""
    now = now or timezone.now()
    day = pacific_date(now)
    reset = next_reset(now)
    _usage_row(project, day)
    first = YouTubeQuotaUsage.objects.filter(
        quota_project=project, pacific_date=day, exhausted_at__isnull=True
    ).update(exhausted_at=now)
    if first:
        alert_send(
            level="CRITICAL",
            title=f"YouTube quota of project {project} exceeded for {day}",
            message="YouTube answered quotaExceeded. Uploads wait for the reset at "
            f"{reset.astimezone(PACIFIC):%Y-%m-%d %H:%M %Z}.",
            key=f"youtube-quota:{project}:{day}:exceeded",
        )
    log.warning("youtube_quota_exceeded", project=project, day=str(day))
    return reset


# --- The channel's own upload limit ---------------------------------------------------------------


def upload_limit_record(channel, *, now=None):
    """YouTube answered uploadLimitExceeded for this channel: its uploads wait until 24 hours
    after the refusal; other channels (even in the same project) go on. One WARNING naming the
    time. Returns that time."""
    now = now or timezone.now()
    until = now + UPLOAD_LIMIT_WAIT
    YouTubeUploadHold.objects.update_or_create(
        channel=channel, defaults={"refused_at": now, "until": until}
    )
    alert_send(
        level="WARNING",
        title=f"{channel.pk}: YouTube's daily upload limit of the channel reached",
        message=f"YouTube refused an upload of channel {channel.pk} (uploadLimitExceeded: the "
        "channel's own daily upload limit, not the project's quota). Its uploads wait until "
        f"{until:%Y-%m-%d %H:%M} UTC ({until.astimezone(PACIFIC):%H:%M %Z}); other channels "
        "are not held.",
        key=f"youtube-upload-limit:{channel.pk}",
    )
    log.warning("youtube_upload_limit_exceeded", channel=channel.pk, until=until.isoformat())
    return until


def upload_limit_until(channel, *, now=None):
    """When the channel may upload again, or None when it is not held."""
    now = now or timezone.now()
    return (
        YouTubeUploadHold.objects.filter(channel=channel, until__gt=now)
        .values_list("until", flat=True)
        .first()
    )
