"""Minutes of review per published video, per channel and reviewer, for the dashboard: every
timed decision on the channel's tasks (rejections and second looks included: they are what a
video costs a reviewer) over the channel's published videos. The decisions are timed by the
review page (reviews/review_time.py); read here through the task's reviews, so the pipeline
needs nothing of the reviews app."""

from django.db.models import Count, Q, Sum

from pipeline.models import Video, VideoTask


def review_minutes_per_video():
    """[{"channel", "reviewer", "decisions", "minutes", "published", "per_video"}], most
    minutes first."""
    rows = (
        VideoTask.objects.filter(reviews__seconds_taken__isnull=False)
        .values("channel_id", "reviews__reviewer_name")
        .annotate(decisions=Count("reviews"), seconds=Sum("reviews__seconds_taken"))
    )
    published = dict(
        Video.objects.filter(~Q(youtube_video_id="") | Q(task__status="published"))
        .values("task__channel_id")
        .annotate(count=Count("id"))
        .values_list("task__channel_id", "count")
    )
    result = []
    for row in rows:
        videos = published.get(row["channel_id"], 0)
        minutes = row["seconds"] / 60
        result.append({
            "channel": row["channel_id"],
            "reviewer": row["reviews__reviewer_name"],
            "decisions": row["decisions"],
            "minutes": round(minutes, 1),
            "published": videos,
            "per_video": round(minutes / videos, 1) if videos else None,
        })  # fmt: skip
    return sorted(result, key=lambda row: (-row["minutes"], row["channel"], row["reviewer"]))
