"""The Upload row of a video: one per task, claimed with a lease before anything is sent, its
progress saved under that lease, the video id saved the moment it is known (youtube.py says why)."""

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from pipeline.clock import db_now, later_expression, now_expression
from pipeline.models import Upload, UploadState, Video, WorkItem, WorkState
from pipeline.runner import Outcome
from pipeline.unit_spec import UnitBusy, UnitError

log = structlog.get_logger(__name__)

WATCH_URL = "https://www.youtube.com/watch?v={}"
UPLOADER = "youtube-uploader"  # the actor of audit rows written by the uploader


def now():
    """Quota days, publish slots and holds are due times: on the database's clock."""
    return db_now()


def _lease_until():
    return later_expression(settings.PIPELINE_LEASE_SECONDS)


def upload_row_get(task):
    upload, _ = Upload.objects.get_or_create(
        task=task, defaults={"quota_project": task.channel.quota_project or "default"}
    )
    return upload


def upload_claim(upload, owner):
    """Take the upload for this execution, or raise: another live execution holds it."""
    free = Q(lease_owner="") | Q(lease_expires_at__lt=now_expression()) | Q(lease_owner=owner)
    claimed = Upload.objects.filter(free, pk=upload.pk).update(
        lease_owner=owner, lease_expires_at=_lease_until(), attempts=F("attempts") + 1
    )
    upload.refresh_from_db()
    if claimed != 1:
        raise UnitBusy(
            f"upload of task {upload.task_id}: another worker is uploading it (lease until "
            f"{upload.lease_expires_at:%H:%M:%S} UTC); this message comes back then",
            until=upload.lease_expires_at,
        )
    return upload


def upload_release(upload_id, owner):
    Upload.objects.filter(pk=upload_id, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None
    )


def progress_save(upload, owner, **fields):
    """Save progress under our lease and renew it (and the work item's: an in-process unit has no
    script heartbeat). A lost lease stops this execution before it sends another byte."""
    saved = Upload.objects.filter(pk=upload.pk, lease_owner=owner).update(
        lease_expires_at=_lease_until(), **fields
    )
    if saved != 1:
        raise UnitError(
            f"upload of task {upload.task_id}: the lease was lost to another worker; this "
            "execution stops and the other one continues the same session",
            outcome=Outcome.TEMPORARY,
        )
    WorkItem.objects.filter(
        task_id=upload.task_id, step="upload", unit="video", state=WorkState.RUNNING
    ).update(lease_expires_at=_lease_until())
    for name, value in fields.items():
        setattr(upload, name, value)


def video_saved(task, upload, video_id):
    """The video exists: record it before anything else can go wrong. True when this call
    recorded it, False when another execution (the reconciler, say) already had."""
    url = WATCH_URL.format(video_id)
    with transaction.atomic():
        saved = Upload.objects.filter(pk=upload.pk, video_id="").update(
            video_id=video_id, state=UploadState.DONE, bytes_confirmed=upload.total_bytes, error=""
        )
        if saved:
            Video.objects.filter(task_id=task.pk).update(youtube_video_id=video_id, youtube_url=url)
    upload.refresh_from_db()
    if saved:
        log.info("youtube_video_created", video_id=video_id)
    return bool(saved)
