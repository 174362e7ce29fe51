from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from encrypted_fields.fields import EncryptedTextField

from core.providers import SECRETS
from core.text.config_text import CHANNEL_ID_PATTERN

channel_id_validator = RegexValidator(
    CHANNEL_ID_PATTERN,
    "a channel id is 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit",
)


class Priority(models.TextChoices):
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


PRIORITY_RANK = {Priority.HIGH: 0, Priority.NORMAL: 1, Priority.LOW: 2}


class Schedule(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MANUAL = "manual", "Manual"


class Privacy(models.TextChoices):
    PUBLIC = "public", "Public"
    UNLISTED = "unlisted", "Unlisted"
    PRIVATE = "private", "Private"


class Channel(models.Model):
    """A YouTube channel we produce for. Everything but credentials comes from
    channel_configs/<id>.yaml (sync_channels); credentials are set with set_channel_secret."""

    id = models.CharField(primary_key=True, max_length=63, validators=[channel_id_validator])
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    schedule = models.CharField(max_length=10, choices=Schedule.choices, default=Schedule.MANUAL)
    publish_days = models.JSONField(default=list, blank=True)  # weekly: ["mon", "thu"]
    timezone = models.CharField(max_length=64, default="UTC")
    publish_time = models.TimeField(null=True, blank=True)
    notion_database_id = models.CharField(max_length=64, blank=True)
    youtube_channel_id = models.CharField(max_length=64, blank=True)
    quota_project = models.CharField(max_length=100, default="default")
    budget_daily_usd = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    budget_weekly_usd = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    # A video costing more than this raises a WARNING (channel file: budget.per_video_usd).
    budget_per_video_usd = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("13"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    review_gates = models.JSONField(default=list, blank=True)  # subset of assets, video, audio
    providers = models.JSONField(default=dict, blank=True)  # {"image": "gemini", ...}
    voice_id = models.CharField(max_length=100, blank=True)
    video_model = models.CharField(max_length=100, default="kling/v2-1-standard")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    max_concurrent = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    privacy = models.CharField(max_length=10, choices=Privacy.choices, default=Privacy.PRIVATE)
    made_for_kids = models.BooleanField(default=False)
    category_id = models.CharField(max_length=10, default="22")
    default_language = models.CharField(max_length=20, default="en")
    tags = models.JSONField(default=list, blank=True)
    # The writer's standing instructions (core.text.channel_brief), defaults filled in.
    brief = models.JSONField(default=dict, blank=True)
    # Per-channel settings for the narration and clip scripts; a null value keeps the script's
    # default: {"model", "stability", "similarity", "style", "speed"} for generate_audio.py,
    # {"duration", "negative_prompt", "cfg_scale"} for generate_video.py.
    narration = models.JSONField(default=dict, blank=True)
    clips = models.JSONField(default=dict, blank=True)
    # Retention (channel file: retention.*; pipeline/retention.py): days a published or cancelled
    # video keeps its intermediates, then its final and rejected cuts for finals days more.
    keep_intermediates_days = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1)]
    )
    keep_finals_days = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1)])
    # What the viewer gets: the music bed {"folder", "volume_db"} (empty: none),
    # captions burned into the picture {"burn", "font", "size", "position", "outline"}, and
    # whether a cut must pass the automatic check before the final gate.
    music = models.JSONField(default=dict, blank=True)
    captions = models.JSONField(default=dict, blank=True)
    require_clean_cut = models.BooleanField(default=False)
    config_file = models.CharField(max_length=255, blank=True)
    config_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(budget_daily_usd__gt=0), name="channel_budget_daily_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(budget_weekly_usd__gte=models.F("budget_daily_usd")),
                name="channel_budget_weekly_at_least_daily",
            ),
            models.CheckConstraint(
                condition=models.Q(max_concurrent__gte=1), name="channel_max_concurrent_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=Priority.values), name="channel_priority_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(privacy__in=Privacy.values), name="channel_privacy_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(schedule__in=Schedule.values), name="channel_schedule_valid"
            ),
        ]

    def __str__(self):
        # What people read wherever a channel is shown (lists, dropdowns); the id is for files,
        # commands and URLs.
        return self.name or self.id


# The secrets the providers declare (core/providers.py), as stored names and their labels.
SecretName = models.TextChoices(
    "SecretName", [(secret.name.upper(), (secret.name, secret.label)) for secret in SECRETS]
)


class ChannelSecret(models.Model):
    """One encrypted credential of a channel. Never in YAML, never in argv or logs."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="secrets")
    name = models.CharField(max_length=40, choices=SecretName.choices)
    value = EncryptedTextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "name"], name="channel_secret_unique_name"),
            models.CheckConstraint(
                condition=models.Q(name__in=SecretName.values), name="channel_secret_name_valid"
            ),
        ]

    def __str__(self):
        return f"{self.channel_id}:{self.name}"


class EncryptionCanary(models.Model):
    """A known value encrypted with the current key. The fernet library returns ciphertext instead
    of raising when the key is wrong, so start-up decrypts this row to prove the key is right."""

    value = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"encryption canary {self.pk}"


class NotionBoard(models.Model):
    """A channel's Notion board: the database id resolved to its data source (API 2025-09-03),
    and the incremental poll cursor (last_edited_time seen, polled again with a minute of overlap
    because Notion rounds it to the minute)."""

    channel = models.OneToOneField(Channel, on_delete=models.PROTECT, related_name="notion_board")
    data_source_id = models.CharField(max_length=64, blank=True)
    poll_cursor = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Notion board of {self.channel_id}"


class NotionPush(models.Model):
    """A task whose Notion card needs updating. Pushes are coalesced: any number of changes mark
    the one row dirty (requested_at moves on), and the pusher sends the task's latest values, so
    a burst of transitions becomes one page update."""

    task = models.OneToOneField(
        "pipeline.VideoTask", on_delete=models.PROTECT, related_name="notion_push"
    )
    requested_at = models.DateTimeField(db_index=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    pushed_version = models.DateTimeField(null=True, blank=True)  # the requested_at it pushed
    # The Status column last written to the card ("" before the first push; "archived" once the
    # page is archived): a card showing it is stale, not moved by hand.
    pushed_status = models.CharField(max_length=40, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self):
        return f"Notion push of {self.task_id}"
