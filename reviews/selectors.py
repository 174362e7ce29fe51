"""Reads behind the review queue and the review page."""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse

from channels_app.models import Channel
from costs.models import VideoCost
from pipeline import paths
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.status import GATE_BY_STATUS, GATES, OPTIONAL_GATES, STEP_ORDER, Status
from pipeline.steps import STEP_BY_NAME

MONEY = DecimalField(max_digits=12, decimal_places=4)


def task_cost_subquery():
    """A task's spend so far, as an annotation (one subquery; no join that multiplies rows)."""
    total = (
        VideoCost.objects.filter(task=OuterRef("pk"))
        .order_by()
        .values("task")
        .annotate(total=Sum("usd"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=MONEY), Value(Decimal(0)), output_field=MONEY)


def tasks_progress(task_ids):
    """{task_id: {step: (done, total)}} for many tasks in one grouped query."""
    rows = (
        WorkItem.objects.filter(task_id__in=list(task_ids))
        .order_by()
        .values("task_id", "step")
        .annotate(total=Count("id"), done=Count("id", filter=Q(state=WorkState.DONE)))
    )
    by_task = {}
    for row in rows:
        by_task.setdefault(row["task_id"], {})[row["step"]] = (row["done"], row["total"])
    return {
        task_id: {step: steps[step] for step in STEP_ORDER if step in steps}
        for task_id, steps in by_task.items()
    }


def review_queue():
    """Every task waiting for a reviewer, oldest wait first. An optional gate's status counts only
    for channels that have the gate on (with it off, the task only passes through it); final
    review always counts."""
    channels_by_gate = {gate: [] for gate in OPTIONAL_GATES}
    # review_gates is a JSON list; filtered here rather than with __contains, which SQLite (the
    # embedded default) does not support. There are tens of channels, not thousands.
    for channel_id, gates in Channel.objects.values_list("id", "review_gates"):
        for gate in gates or []:
            if gate in channels_by_gate:
                channels_by_gate[gate].append(channel_id)
    waiting = Q(status=Status.FINAL_REVIEW)
    for gate, channel_ids in channels_by_gate.items():
        if channel_ids:
            waiting |= Q(status=GATES[gate][0], channel_id__in=channel_ids)
    return (
        VideoTask.objects.filter(waiting, cancelled_at__isnull=True)
        .select_related("channel")
        .annotate(cost_usd=task_cost_subquery())
        .order_by("status_changed_at", "created_at")
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


MEDIA_KIND = {".png": "image", ".mp4": "video", ".mp3": "audio"}


def media_url(path):
    """The media view's URL of a workspace file, or "" when it is missing or outside."""
    try:
        resolved = paths.ensure_inside_workspace(path)
    except paths.UnsafePath:
        return ""
    if not resolved.is_file():
        return ""
    relative = resolved.relative_to(paths.workspace_root()).as_posix()
    return reverse("media", kwargs={"relative": relative})


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


def storyboard_scenes(task, unit_states):
    """The storyboard scene by scene, with each scene's state per step."""
    scenes = []
    for scene in task.storyboard.get("scenes", []):
        composite = scene.get("composite") or {}
        parts = [composite.get("character"), composite.get("environment")]
        scenes.append(
            {
                "id": scene["id"],
                "narration": scene.get("narration", ""),
                "motion": scene.get("motion", ""),
                "sfx": scene.get("sfx", ""),
                "duration": scene.get("duration", ""),
                "made_of": ", ".join(p for p in parts if p) or ", ".join(scene.get("split") or []),
                "states": [
                    (step, unit_states[(step, scene["id"])])
                    for step in ("composites", "videos", "audio", "sfx")
                    if (step, scene["id"]) in unit_states
                ],
            }
        )
    return scenes
