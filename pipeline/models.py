import uuid

from django.db import models

from channels_app.models import Channel, Priority
from pipeline.status import STEP_ORDER, WORK_STEPS, Status


class VideoTask(models.Model):
    """One video on its way from storyboard to YouTube. Its status is its board column; only
    pipeline.transitions.task_transition() changes it, and every change writes a TaskEvent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(max_length=200)
    topic = models.TextField(blank=True)
    story_direction = models.TextField(blank=True)
    # Drafting (pipeline/drafting.py): the number of scenes asked of the writer (None: the
    # channel brief's scene_count), and whether to queue the task once its draft is written.
    draft_scenes = models.PositiveSmallIntegerField(null=True, blank=True)
    queue_when_drafted = models.BooleanField(default=False)
    storyboard = models.JSONField()
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.DRAFT)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Why a task that is not at a gate is not moving: "budget", "quota", "" when it is.
    waiting_reason = models.CharField(max_length=32, blank=True)
    failed_step = models.CharField(max_length=20, blank=True)
    error_log = models.TextField(blank=True)
    notion_page_id = models.CharField(max_length=64, blank=True)
    correlation_id = models.UUIDField(default=uuid.uuid4, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="task_status_created"),
            models.Index(fields=["channel", "status"], name="task_channel_status"),
            models.Index(fields=["next_attempt_at"], name="task_next_attempt"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="task_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=Priority.values), name="task_priority_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(failed_step="") | models.Q(failed_step__in=STEP_ORDER),
                name="task_failed_step_valid",
            ),
        ]

    def __str__(self):
        return f"{self.title} ({self.channel_id})"

    @property
    def board_column(self):
        return Status(self.status).label


class TaskEvent(models.Model):
    """One status change: the task's readable timeline."""

    task = models.ForeignKey(VideoTask, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=32, choices=Status.choices)
    to_status = models.CharField(max_length=32, choices=Status.choices)
    reason = models.TextField(blank=True)
    actor = models.CharField(max_length=150, default="system")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.from_status} -> {self.to_status}"


class WorkState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class WorkItemQuerySet(models.QuerySet):
    def leased_to(self, owner, attempt=None):
        """The units a lease holds (fencing): running, under this owner and, when given, this
        attempt. A lease taken back or recorded meanwhile matches nothing."""
        held = self.filter(state=WorkState.RUNNING, lease_owner=owner)
        return held if attempt is None else held.filter(attempts=attempt)

    def lease_give_back(self):
        """These units pending again, their lease cleared (the attempt counted stays counted)."""
        return self.update(state=WorkState.PENDING, lease_owner="", lease_expires_at=None)

    def new_round(self):
        """Make these units pending for a new round of attempts (a retry, a redo, a draft again):
        the attempt counter never goes back, since it numbers the cost rows; the round's
        attempt cap counts from it (retry_base). Returns how many units."""
        return self.update(
            state=WorkState.PENDING,
            retry_base=models.F("attempts"),
            next_attempt_at=None,
            lease_owner="",
            lease_expires_at=None,
            error="",
        )


class WorkItem(models.Model):
    """The work ledger: one row per unit of paid work (an asset, a scene of a step, the assembly,
    the upload). A worker claims it with a lease (conditional UPDATE), and records the result only
    if its lease (owner + attempt: the fencing token) is still the current one, so a duplicate or
    stale execution can neither run it twice nor overwrite a newer result."""

    task = models.ForeignKey(VideoTask, on_delete=models.PROTECT, related_name="work_items")
    step = models.CharField(max_length=20)
    unit = models.CharField(max_length=64)  # asset id, scene id, or "video"
    script = models.CharField(max_length=40)
    provider = models.CharField(max_length=20)
    state = models.CharField(max_length=10, choices=WorkState.choices, default=WorkState.PENDING)
    # Every run of the unit, across redos and retries; never reset (it is the fencing token and
    # a cost row's attempt number, unique per unit).
    attempts = models.PositiveIntegerField(default=0)
    # The attempts made before the latest redo or retry: the retry budget
    # (PIPELINE_MAX_ATTEMPTS) counts only the attempts after it.
    retry_base = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    output_path = models.CharField(max_length=500)
    usage = models.JSONField(default=dict, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    calls = models.PositiveIntegerField(default=0)  # script runs that completed (paid)
    # What the output was made from (pipeline.fingerprints), recorded when the unit is done:
    # after a storyboard edit, the units whose fingerprint changed are the ones to make again.
    fingerprint = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkItemQuerySet.as_manager()

    class Meta:
        ordering = ["task", "step", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["task", "step", "unit"], name="work_item_unique_unit"),
            models.CheckConstraint(
                condition=models.Q(step__in=WORK_STEPS), name="work_item_step_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=WorkState.values), name="work_item_state_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(state=WorkState.RUNNING)
                | (~models.Q(lease_owner="") & models.Q(lease_expires_at__isnull=False)),
                name="work_item_running_has_lease",
            ),
        ]
        indexes = [models.Index(fields=["state", "lease_expires_at"], name="work_item_lease")]

    def __str__(self):
        return f"{self.task_id}:{self.step}:{self.unit}"

    @property
    def round_attempts(self):
        """Attempts since the latest redo or retry (what the retry budget counts)."""
        return self.attempts - self.retry_base


class ProviderSlot(models.Model):
    """A concurrency slot of an external provider, leased by the script run that holds it. The cap
    is the number of slot rows (settings.PROVIDER_CONCURRENCY); it holds across all workers."""

    provider = models.CharField(max_length=20)
    index = models.PositiveSmallIntegerField()
    holder = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "index"], name="provider_slot_unique")
        ]

    def __str__(self):
        return f"{self.provider}[{self.index}]"


class SlotWaiter(models.Model):
    """A unit lined up for one of its provider's slots (pipeline/limits.py says in which order they
    are granted). The order is copied from the unit's video when it lines up, so granting a slot
    is one indexed read."""

    work_item = models.OneToOneField(WorkItem, on_delete=models.CASCADE, related_name="waiter")
    provider = models.CharField(max_length=20)
    priority_rank = models.PositiveSmallIntegerField()
    video_since = models.DateTimeField()
    lined_up_at = models.DateTimeField(auto_now_add=True)
    # Its message was sent ahead of a grant (it waits in a worker thread, ready to run).
    invited = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["provider", "priority_rank", "video_since", "work_item"],
                name="slot_waiter_order",
            )
        ]

    def __str__(self):
        return f"{self.provider} <- item {self.work_item_id}"


class Video(models.Model):
    """The finished file of a task and, once published, where it lives."""

    task = models.OneToOneField(VideoTask, on_delete=models.PROTECT, related_name="video")
    final_path = models.CharField(max_length=500)
    duration_seconds = models.FloatField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    youtube_video_id = models.CharField(max_length=32, blank=True)
    youtube_url = models.URLField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # The music bed's file name (from the channel's music folder): a licence question later has
    # an answer.
    music_track = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_seconds__isnull=True)
                | models.Q(duration_seconds__gt=0),
                name="video_duration_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(size_bytes__isnull=True) | models.Q(size_bytes__gt=0),
                name="video_size_positive",
            ),
        ]
        indexes = [models.Index(fields=["youtube_video_id"], name="video_youtube_id")]

    def __str__(self):
        return self.final_path


# The local upload provider's Upload rows carry "local-<task id hex>" as their video id: they
# stand for a file in the workspace, not a YouTube video.
LOCAL_VIDEO_ID_PREFIX = "local-"


class UploadState(models.TextChoices):
    PENDING = "pending", "Pending"
    UPLOADING = "uploading", "Uploading"
    # The outcome cannot be known (e.g. a timeout after the last chunk): checked by
    # reconciliation, never re-inserted automatically.
    UNKNOWN = "unknown", "Outcome unknown (reconciling)"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Upload(models.Model):
    """The one YouTube upload of a video. videos.insert has no idempotency key, so this row is
    the guard: unique per task, the resumable session URI saved before the first byte is sent,
    the video id saved the moment YouTube returns it. A task with a video id is never uploaded
    again."""

    task = models.OneToOneField(VideoTask, on_delete=models.PROTECT, related_name="upload")
    state = models.CharField(
        max_length=12, choices=UploadState.choices, default=UploadState.PENDING
    )
    quota_project = models.CharField(max_length=100, default="default")
    # A unique marker written into the video's metadata, to recognise it on the channel later.
    marker = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session_uri = models.TextField(blank=True)
    session_started_at = models.DateTimeField(null=True, blank=True)
    bytes_confirmed = models.BigIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    video_id = models.CharField(max_length=32, blank=True)
    publish_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=100, blank=True)
    # The SHA-256 of the file sent (the cut approved at the final gate: reviews/reviewer_checks.py).
    sha256 = models.CharField(max_length=64, blank=True)
    disclosure = models.JSONField(default=dict, blank=True)  # the declarations it carried
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    thumbnail_set = models.BooleanField(default=False)
    # The caption track (captions.insert), best effort after the video is up: its id once sent;
    # else the last failure, and when the beat entry tries it again.
    caption_id = models.CharField(max_length=64, blank=True)
    caption_attempts = models.PositiveIntegerField(default=0)
    caption_error = models.TextField(blank=True)
    caption_retry_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    request_body = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=UploadState.values), name="upload_state_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(state=UploadState.DONE) | ~models.Q(video_id=""),
                name="upload_done_has_video_id",
            ),
            models.CheckConstraint(
                condition=models.Q(bytes_confirmed__gte=0)
                & (
                    models.Q(total_bytes=0) | models.Q(bytes_confirmed__lte=models.F("total_bytes"))
                ),
                name="upload_bytes_within_total",
            ),
            models.UniqueConstraint(
                fields=["video_id"], condition=~models.Q(video_id=""), name="upload_video_id_unique"
            ),
        ]

    def __str__(self):
        return f"upload of {self.task_id} ({self.state})"


class WorkerStart(models.Model):
    """One row each time a worker process starts, by host name: a worker that keeps dying and
    being restarted by its supervisor shows as many starts in a few minutes (the watchdog's
    restart-loop alarm). Rows older than a day are deleted by that check."""

    hostname = models.CharField(max_length=200)
    instance = models.CharField(max_length=100)
    started_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["started_at", "hostname"], name="worker_start_time_host")]

    def __str__(self):
        return f"{self.hostname} started {self.started_at:%Y-%m-%d %H:%M:%S}"


class Heartbeat(models.Model):
    """The last time a process of the machinery was seen alive: one row per worker host name
    and one for beat. The watchdog (pipeline/watchdog.py, run by the beat process) raises an alarm
    when no worker has been seen for PIPELINE_WORKER_SILENCE_MINUTES while work waits."""

    class Kind(models.TextChoices):
        WORKER = "worker", "Worker"
        BEAT = "beat", "Beat"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    hostname = models.CharField(max_length=200)
    seen_at = models.DateTimeField()
    started_at = models.DateTimeField()
    # The process that holds the name now (a worker's leases carry it: pipeline/workers.py), and
    # since when it has heartbeaten without a break.
    instance = models.CharField(max_length=100, blank=True, default="")
    continuous_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "hostname"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "hostname"], name="heartbeat_one_per_process"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["worker", "beat"]), name="heartbeat_kind_valid"
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.hostname} {self.seen_at:%H:%M:%S}"
