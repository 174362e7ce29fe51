"""How long a reviewer took: the review page carries a signed stamp of when it was opened (for
which task), the decision posts it back, and the seconds between are kept on the Review.
Signed, so a form cannot claim a time of its own; a missing or forged stamp records nothing.

The dashboard shows, per channel and reviewer, the minutes of review each published video
cost: every decision's time on the channel's tasks (rejections and re-reviews included) over
the videos published."""

import time

from django.core import signing
from django.db.models import Count, Q, Sum

from pipeline.models import Video
from reviews.models import Review

SALT = "videogen.review-opened"
MAX_SECONDS = 8 * 3600  # a page left open overnight says nothing of the work it took


def opened_stamp(task, *, now=None):
    return signing.dumps({"task": str(task.pk), "at": now or time.time()}, salt=SALT)


def seconds_since_opened(stamp, task, *, now=None):
    """Whole seconds since the page for `task` was opened, or None (no stamp, forged, another
    task's, or implausibly long)."""
    if not stamp:
        return None
    try:
        data = signing.loads(stamp, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("task") != str(task.pk):
        return None
    seconds = (now or time.time()) - float(data.get("at", 0))
    if not 0 <= seconds <= MAX_SECONDS:
        return None
    return round(seconds)


def review_minutes_per_video():
    """[{"channel", "reviewer", "decisions", "minutes", "published", "per_video"}] per channel
    and reviewer, most minutes first."""
    rows = (
        Review.objects.filter(seconds_taken__isnull=False)
        .values("task__channel_id", "reviewer_name")
        .annotate(decisions=Count("id"), seconds=Sum("seconds_taken"))
    )
    published = dict(
        Video.objects.filter(~Q(youtube_video_id="") | Q(task__status="published"))
        .values("task__channel_id")
        .annotate(count=Count("id"))
        .values_list("task__channel_id", "count")
    )
    result = []
    for row in rows:
        videos = published.get(row["task__channel_id"], 0)
        minutes = row["seconds"] / 60
        result.append({
            "channel": row["task__channel_id"],
            "reviewer": row["reviewer_name"],
            "decisions": row["decisions"],
            "minutes": round(minutes, 1),
            "published": videos,
            "per_video": round(minutes / videos, 1) if videos else None,
        })  # fmt: skip
    return sorted(result, key=lambda row: (-row["minutes"], row["channel"], row["reviewer"]))
