"""Retention: a video's media is deleted from the media store a number of days after the video
was published or cancelled, so 100 videos a week do not fill a disk or a bucket.

- intermediates (assets, composites, clips, narration, sound effects, the paid raw outputs kept
  beside them, the manifest and the writer's draft) after the channel's keep_intermediates_days;
- the final cut, the rejected cuts and the local upload provider's published copy after
  keep_finals_days more.

Only media goes: the task, its reviews, the audit log and the cost ledger are never pruned (each
prune is itself recorded in the audit log). `manage.py media_prune --dry-run` prints the plan and
changes nothing; beat runs the prune daily (pipeline.media_prune).
"""

import datetime as dt
from dataclasses import dataclass, field

import structlog
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_log_record
from core.media_store import media_key, media_store
from pipeline import paths
from pipeline.models import VideoTask
from pipeline.paths import STEP_OUTPUTS
from pipeline.status import Status

log = structlog.get_logger(__name__)

# Folders and files of a project that are intermediates (what the final is made from).
INTERMEDIATE_FOLDERS = tuple(folder for folder, _ in STEP_OUTPUTS.values()) + ("draft",)
INTERMEDIATE_FILES = ("manifest.json",)
FINAL_FILES = ("final.mp4",)
FINAL_FOLDERS = ("rejected",)
PRUNER = "retention"


@dataclass
class PruneItem:
    task: VideoTask
    kind: str  # "intermediates" or "finals"
    keys: list = field(default_factory=list)
    bytes: int = 0


def _ended_at(task):
    """When the video left production: published (its Video row), else cancelled; None while it
    is in production or waits for review."""
    video = getattr(task, "video", None)
    if task.status == Status.PUBLISHED and video is not None and video.published_at:
        return video.published_at
    return task.cancelled_at


def _project_keys(task):
    project = media_key(paths.project_dir(task.channel_id, str(task.pk)))
    return project, list(media_store().keys(project))


def _classify(task, project, key):
    if _is_published(task, key):
        return "finals"
    relative = key[len(project) + 1 :]
    first = relative.split("/", 1)[0]
    if first in INTERMEDIATE_FOLDERS or relative in INTERMEDIATE_FILES:
        return "intermediates"
    if first in FINAL_FOLDERS or relative in FINAL_FILES:
        return "finals"
    return None  # the upload's receipt and the like: small records, kept with the task


def prune_plan(*, now=None):
    """What is due to be deleted now: PruneItems, intermediates before finals."""
    now = now or timezone.now()
    tasks = (
        VideoTask.objects.filter(Q(status=Status.PUBLISHED) | Q(cancelled_at__isnull=False))
        .select_related("channel", "video")
        .order_by("created_at")
    )
    plan = []
    for task in tasks:
        ended = _ended_at(task)
        if ended is None:
            continue
        channel = task.channel
        intermediates_due = ended + dt.timedelta(days=channel.keep_intermediates_days)
        finals_due = intermediates_due + dt.timedelta(days=channel.keep_finals_days)
        if now < intermediates_due:
            continue
        project, keys = _project_keys(task)
        due = {"intermediates": PruneItem(task, "intermediates")}
        if now >= finals_due:
            due["finals"] = PruneItem(task, "finals")
            keys += _published_keys(task)
        for key, size in keys:
            item = due.get(_classify(task, project, key))
            if item is not None:
                item.keys.append(key)
                item.bytes += size
        plan += [item for item in due.values() if item.keys]
    return plan


def _published_keys(task):
    """The local upload provider's copy of the video and its record (published/<task>.*)."""
    folder = media_key(paths.published_dir(task.channel_id))
    return [(key, size) for key, size in media_store().keys(folder) if _is_published(task, key)]


def _is_published(task, key):
    name = key.rsplit("/", 1)[-1]
    return name.startswith(f"{task.pk}.") and key.startswith(
        media_key(paths.published_dir(task.channel_id)) + "/"
    )


def media_prune(*, dry_run=False, now=None):
    """Delete what prune_plan says is due (nothing with dry_run); returns the plan."""
    plan = prune_plan(now=now)
    if dry_run:
        return plan
    store = media_store()
    for item in plan:
        for key in item.keys:
            store.delete(key)
        audit_log_record(
            actor=PRUNER,
            action="media_pruned",
            task=item.task,
            notes=f"{item.kind}: {len(item.keys)} files, {item.bytes} bytes deleted from the "
            f"{store.describe()} (channel retention)",
            metadata={"kind": item.kind, "files": len(item.keys), "bytes": item.bytes},
        )
        log.info("media_pruned", task_id=str(item.task.pk), kind=item.kind, bytes=item.bytes)
    return plan
