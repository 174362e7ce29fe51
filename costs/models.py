from decimal import Decimal

from django.db import models

from channels_app.models import Channel


class Component(models.TextChoices):
    STORYBOARD = "storyboard", "Storyboard draft (Gemini text)"
    IMAGE = "image", "Image (Gemini)"
    COMPOSITE = "composite", "Composite (local)"
    VIDEO = "video", "Video clip (Kling)"
    NARRATION = "narration", "Narration (ElevenLabs)"
    SFX = "sfx", "Sound effect (ElevenLabs)"
    ASSEMBLY = "assembly", "Assembly (FFmpeg)"
    UPLOAD = "upload", "Upload"


class CostOutcome(models.TextChoices):
    OK = "ok", "OK"
    # The provider charged, then the attempt failed (a local step after the download, a
    # verification): paid for and wasted.
    FAILED = "failed", "Failed after paying"
    # The output was already there (a retry reused the paid raw file): nothing paid again.
    REUSED = "reused", "Reused"


class VideoCost(models.Model):
    """One paid script call (or one reuse of a paid output) and what it cost. One row per
    attempt: the work item and its attempt number are unique together, so a recorded result
    cannot be recorded twice. In a rehearsal (the local provider) usd is 0 and would_be_usd says
    what the same call would have cost at the real providers' prices."""

    # By name, not import: costs stands below pipeline (pipeline records the costs).
    task = models.ForeignKey("pipeline.VideoTask", on_delete=models.PROTECT, related_name="costs")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="costs")
    work_item = models.ForeignKey(
        "pipeline.WorkItem", null=True, blank=True, on_delete=models.PROTECT, related_name="costs"
    )
    attempt = models.PositiveIntegerField(default=1)
    component = models.CharField(max_length=20, choices=Component.choices)
    provider = models.CharField(max_length=20)
    units = models.DecimalField(max_digits=12, decimal_places=3)
    unit_name = models.CharField(max_length=20)  # images, characters, clip_seconds, sfx_seconds
    usd = models.DecimalField(max_digits=10, decimal_places=4)
    would_be_usd = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal(0))
    outcome = models.CharField(max_length=10, choices=CostOutcome.choices, default=CostOutcome.OK)
    api_calls = models.PositiveIntegerField(default=1)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["work_item", "attempt"], name="video_cost_one_per_call"
            ),
            models.CheckConstraint(
                condition=models.Q(usd__gte=Decimal("0")), name="video_cost_usd_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(would_be_usd__gte=Decimal("0")),
                name="video_cost_would_be_usd_nonnegative",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=CostOutcome.values), name="video_cost_outcome_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(units__gte=Decimal("0")), name="video_cost_units_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(component__in=Component.values),
                name="video_cost_component_valid",
            ),
        ]
        indexes = [
            # The spend page's per-day sums read only these columns (an index-only scan).
            models.Index(
                fields=["channel", "created_at"],
                include=["usd", "would_be_usd", "outcome"],
                name="video_cost_channel_time",
            ),
            # The spend page's per-video sums read only these columns (an index-only scan).
            models.Index(
                fields=["task", "component"],
                include=["usd", "would_be_usd", "outcome"],
                name="video_cost_task_component",
            ),
        ]

    def __str__(self):
        return f"{self.component} ${self.usd}"


class YouTubeQuotaUsage(models.Model):
    """YouTube Data API quota used by one Google Cloud project on one Pacific day."""

    quota_project = models.CharField(max_length=100)
    pacific_date = models.DateField()
    units_used = models.PositiveIntegerField(default=0)
    upload_calls_used = models.PositiveIntegerField(default=0)
    units_limit = models.PositiveIntegerField(default=10_000)
    upload_calls_limit = models.PositiveIntegerField(default=100)
    exhausted_at = models.DateTimeField(null=True, blank=True)  # quotaExceeded seen from YouTube
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "YouTube quota usage"
        verbose_name_plural = "YouTube quota usage"
        ordering = ["-pacific_date", "quota_project"]
        constraints = [
            models.UniqueConstraint(
                fields=["quota_project", "pacific_date"], name="quota_usage_one_per_project_day"
            ),
            models.CheckConstraint(
                condition=models.Q(units_limit__gt=0), name="quota_units_limit_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(upload_calls_limit__gt=0), name="quota_upload_limit_positive"
            ),
        ]

    def __str__(self):
        return f"{self.quota_project} {self.pacific_date}"


class YouTubeUploadHold(models.Model):
    """A channel YouTube refused uploads for (400 uploadLimitExceeded: the channel's own daily
    upload count, not the project's quota): its uploads wait until `until`, other channels go on."""

    channel = models.OneToOneField(
        Channel, on_delete=models.CASCADE, related_name="youtube_upload_hold"
    )
    refused_at = models.DateTimeField()
    until = models.DateTimeField()
    reason = models.CharField(max_length=100, default="uploadLimitExceeded")

    class Meta:
        verbose_name = "YouTube upload hold"

    def __str__(self):
        return f"{self.channel_id} held until {self.until:%Y-%m-%d %H:%M} UTC"

class CostDay(models.Model):
    """The spend of one channel on one closed local day (in the time zone `zone`): a summary of
    VideoCost rows that can no longer change (costs are booked at the time of the call, so a day
    that is over gains no rows). The spend page reads these instead of summing a month of cost
    rows on every view; costs.selectors.channel_spend_overview fills the missing ones."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="cost_days")
    zone = models.CharField(max_length=64)
    day = models.DateField()
    usd = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(0))
    wasted_usd = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(0))
    would_be_usd = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "zone", "day"], name="cost_day_one_per_channel_zone_day"
            )
        ]

    def __str__(self):
        return f"{self.channel_id} {self.day} ${self.usd}"
