"""Reads behind the review queue and the review page."""

import json
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Count, Q, Subquery

from core.text.narration import narration_seconds
from core.text.youtube_text_limits import category_label
from costs.models import VideoCost
from pipeline import paths
from pipeline.integrations.youtube_metadata import thumbnail_source
from pipeline.media import media_duration
from pipeline.models import Upload, Video, WorkItem, WorkState
from pipeline.selectors import media_url, published_link
from pipeline.status import (
    ERROR_STATUSES,
    GATE_BY_STATUS,
    Status,
)
from pipeline.steps import STEP_BY_NAME
from reviews.models import NotionUser, Review, notion_user_id_normalize

MEDIA_KIND = {".png": "image", ".mp4": "video", ".mp3": "audio"}
CUT_NAMES = {1: "first cut", 2: "second cut", 3: "third cut"}


def cut_label(rejections):
    """Which cut a final review shows: "second cut" after one rejection, and so on."""
    number = (rejections or 0) + 1
    return CUT_NAMES.get(number, f"cut {number}")


def task_stopped(task):
    """Stopped in a production error column (a notes-only rejection, or a failure): waiting for
    a person to pick the next action (redo from a step, or cancel)."""
    return (
        task.status in ERROR_STATUSES
        and task.status != Status.UPLOAD_ERROR
        and task.cancelled_at is None
    )


@dataclass
class RejectedCut:
    review: Review
    url: str


def rejected_cuts(task):
    """The final cuts reviewers rejected, oldest first, each with its media link."""
    root = paths.workspace_root()
    return [
        RejectedCut(review, media_url(root / review.rejected_cut))
        for review in task.reviews.exclude(rejected_cut="").order_by("created_at")
    ]


def task_repeated_calls(task):
    """The paid calls of units made more than once (a redo or a retry): which unit, which
    attempt, what it cost."""
    repeated = (
        VideoCost.objects.filter(task=task, work_item__isnull=False)
        .values("work_item")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values("work_item")
    )
    return list(
        VideoCost.objects.filter(task=task)
        .filter(Q(work_item__in=Subquery(repeated)) | Q(attempt__gt=1))
        .select_related("work_item")
        .order_by("work_item__step", "work_item__unit", "attempt")
    )


@dataclass
class Published:
    """What went out and when: the metadata as it was sent (the upload's request to YouTube, or
    the local upload provider's record beside its file), the thumbnail, the times, the link."""

    title: str
    description: str
    tags: list
    privacy: str
    category: str
    publish_at: object  # the scheduled public time (None: public on upload)
    published_at: object  # when the upload finished
    link: tuple  # (label, url)
    thumbnail_what: str
    thumbnail_url: str


def published_record(task):
    """The Published record of a published task, or None."""
    if task.status != Status.PUBLISHED:
        return None
    video = Video.objects.filter(task=task).first()
    upload = Upload.objects.filter(task=task).first()
    body = (upload.request_body if upload else None) or {}
    snippet, status = body.get("snippet") or {}, body.get("status") or {}
    if not snippet:
        # The local upload provider's record sits beside its file (pipeline/publish_local.py).
        local = paths.published_video(task.channel_id, str(task.pk)).with_suffix(".json")
        try:
            record = json.loads(local.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        snippet = {
            "title": record.get("title", task.storyboard.get("title", "")),
            "description": record.get("description", task.storyboard.get("description", "")),
            "tags": record.get("tags") or [],
            "categoryId": task.channel.category_id,
        }
        status = {"privacyStatus": record.get("privacy_status", task.channel.privacy)}
    what, source = thumbnail_source(task)
    return Published(
        title=snippet.get("title", ""),
        description=snippet.get("description", ""),
        tags=[tag for tag in snippet.get("tags") or [] if not tag.startswith("videogen-")],
        privacy=status.get("privacyStatus", ""),
        category=category_label(snippet.get("categoryId", "")),
        publish_at=upload.publish_at if upload else None,
        published_at=video.published_at if video else None,
        link=published_link(task),
        thumbnail_what=what,
        thumbnail_url=media_url(source) if source.suffix != ".mp4" else "",
    )


def task_gate(task):
    """The gate a task is waiting at ("assets", "video", "audio", "final"), or None."""
    return GATE_BY_STATUS.get(Status(task.status))


@dataclass
class MediaItem:
    label: str
    kind: str  # image, video, audio
    url: str = ""  # empty when the file is not there (yet)
    state: str = ""


def review_media(task, gate, unit_states):
    """What the reviewer looks at: the final video, or a contact sheet of the gate's outputs."""
    if gate == "final":
        path = paths.final_video(task.channel_id, str(task.pk))
        return [MediaItem("Final video", "video", media_url(path))]
    step = {"assets": "assets", "video": "videos", "audio": "audio"}[gate]
    if step == "assets":
        units = [asset["id"] for asset in task.storyboard.get("assets", [])]
    elif step == "audio":
        units = [s["id"] for s in task.storyboard.get("scenes", []) if s.get("narration")]
    else:
        units = [scene["id"] for scene in task.storyboard.get("scenes", [])]
    items = []
    for unit in units:
        path = STEP_BY_NAME[step].output(task, unit)
        kind = MEDIA_KIND.get(Path(path).suffix, "image")
        items.append(MediaItem(unit, kind, media_url(path), unit_states.get((step, unit), "")))
    return items


def task_unit_states(task):
    """{(step, unit): state} of a task's work items."""
    return {
        (step, unit): state
        for step, unit, state in WorkItem.objects.filter(task=task).values_list(
            "step", "unit", "state"
        )
    }


def narration_length(task, scene, unit_states):
    """(seconds, measured) of a scene's narration: the audio file's length once it is made,
    the estimate from its words before."""
    if unit_states.get(("audio", scene["id"])) == WorkState.DONE:
        seconds = media_duration(STEP_BY_NAME["audio"].output(task, scene["id"]))
        if seconds:
            return seconds, True
    return narration_seconds(scene.get("narration", "")), False


def storyboard_scenes(task, unit_states):
    """The storyboard scene by scene, with each scene's state per step and how long its
    narration runs against the scene's length."""
    scenes = []
    for scene in task.storyboard.get("scenes", []):
        spoken, measured = narration_length(task, scene, unit_states)
        duration = scene.get("duration") or 0
        composite = scene.get("composite") or {}
        parts = [composite.get("character"), composite.get("environment")]
        scenes.append(
            {
                "id": scene["id"],
                "narration": scene.get("narration", ""),
                "motion": scene.get("motion", ""),
                "sfx": scene.get("sfx", ""),
                "duration": scene.get("duration", ""),
                "spoken": spoken,
                "spoken_measured": measured,
                "spoken_over": bool(duration) and spoken > duration + 0.5,
                "made_of": ", ".join(p for p in parts if p) or ", ".join(scene.get("split") or []),
                "states": [
                    (step, unit_states[(step, scene["id"])])
                    for step in ("composites", "videos", "audio", "sfx")
                    if (step, scene["id"]) in unit_states
                ],
            }
        )
    return scenes


def notion_user_resolve(notion_user_id):
    """The Django user a Notion user acts as, or None when the id is unknown (or not an id)."""
    try:
        normalized = notion_user_id_normalize(notion_user_id)
    except ValueError:
        return None
    mapping = NotionUser.objects.select_related("user").filter(notion_user_id=normalized).first()
    return mapping.user if mapping else None
