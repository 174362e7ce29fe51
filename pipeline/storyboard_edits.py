"""Editing a task's storyboard after the task exists: while it is in Draft, at a review gate, or
stopped in an error column. One service (`task_storyboard_edit`) for the YAML editor, the final
review's title/description/tags form and the thumbnail pick: the text is parsed and validated by
the same parser as a new storyboard (core.text.storyboard), nothing is saved until it validates,
and every saved change writes an audit row with the unified diff of the YAML.

An edit changes no file and starts nothing: what it changes is made again by a redo ("redo what
changed", reviews.decisions.redo_changed_plan), which compares each unit's fingerprint.
"""

import difflib

import yaml
from django.db import transaction

from core.audit import audit_log_record
from core.text.storyboard import (
    ASSET_KEYS,
    COMPOSITE_KEYS,
    SCENE_KEYS,
    TOP_KEYS,
    StoryboardInvalid,
    storyboard_parse,
)
from pipeline.models import VideoTask
from pipeline.status import ERROR_STATUSES, GATE_BY_STATUS, Status
from pipeline.transitions import notify_task_changed

SOURCE = "storyboard"
EDITABLE_STATUSES = frozenset({Status.DRAFT, *GATE_BY_STATUS, *ERROR_STATUSES})


class StoryboardEditError(Exception):
    """Nothing was saved; `errors` lists every problem, each naming its field path."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def _in_order(mapping, keys):
    """The mapping's keys in the storyboard's documented order (the database keeps no order),
    unset (None) ones left out: the parser puts them back."""
    known = [key for key in keys if mapping.get(key) is not None]
    return {key: mapping[key] for key in [*known, *(k for k in mapping if k not in keys)]}


def storyboard_yaml(storyboard):
    """The storyboard as the editor shows it and as diffs compare it: YAML, keys always in the
    same order (the storyboard format's own), so a diff shows only what was changed."""
    if not isinstance(storyboard, dict):
        return ""
    ordered = _in_order(storyboard, TOP_KEYS)
    if isinstance(ordered.get("assets"), list):
        ordered["assets"] = [
            _in_order(asset, ASSET_KEYS) if isinstance(asset, dict) else asset
            for asset in ordered["assets"]
        ]
    if isinstance(ordered.get("scenes"), list):
        scenes = []
        for scene in ordered["scenes"]:
            if isinstance(scene, dict):
                scene = _in_order(scene, SCENE_KEYS)
                if isinstance(scene.get("composite"), dict):
                    scene["composite"] = _in_order(scene["composite"], COMPOSITE_KEYS)
            scenes.append(scene)
        ordered["scenes"] = scenes
    return yaml.safe_dump(
        ordered, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )


def storyboard_editable(task):
    return not task.cancelled_at and task.status in EDITABLE_STATUSES


def _not_editable_message(task):
    state = "cancelled" if task.cancelled_at else f"in {task.get_status_display()}"
    return (
        f"task {task.pk} is {state}: its storyboard can be edited in Draft, at a review gate "
        "(Assets Ready, Video Ready, Audio Ready, Final Review) or in an error column; "
        "nothing was saved"
    )


def task_storyboard_edit(*, task_id, actor, text):
    """Replace the task's storyboard with `text` (YAML) once it validates. Returns (task, diff);
    an empty diff means nothing changed and nothing was recorded. Raises StoryboardEditError."""
    actor_name = getattr(actor, "get_username", lambda: str(actor))()
    try:
        storyboard = storyboard_parse(text, source=SOURCE)
    except StoryboardInvalid as invalid:
        raise StoryboardEditError(invalid.errors) from None
    with transaction.atomic():
        task = VideoTask.objects.select_for_update().select_related("channel").get(pk=task_id)
        if not storyboard_editable(task):
            raise StoryboardEditError([_not_editable_message(task)])
        if storyboard.get("channel") and storyboard["channel"] != task.channel_id:
            raise StoryboardEditError(
                [
                    f"{SOURCE}: channel: {storyboard['channel']!r} is not this task's channel "
                    f"({task.channel_id}); a task cannot move to another channel"
                ]
            )
        before, after = storyboard_yaml(task.storyboard), storyboard_yaml(storyboard)
        diff = "".join(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                after.splitlines(keepends=True),
                fromfile="storyboard (before)",
                tofile="storyboard (after)",
            )
        )
        if not diff:
            return task, ""
        task.storyboard = storyboard
        task.title = storyboard["title"][:200]
        task.save(update_fields=["storyboard", "title", "updated_at"])
        audit_log_record(
            actor=actor_name,
            action="storyboard_edit",
            task=task,
            notes=f"storyboard edited in {task.get_status_display()}",
            metadata={"status": task.status, "diff": diff},
            object_type="storyboard",
            object_id=task.pk,
        )
        notify_task_changed(task.pk)
    return task, diff


def task_metadata_edit(*, task_id, actor, title, description, tags):
    """The final review's form: title, description and tags (a list) saved into the storyboard
    through task_storyboard_edit, so the same limits and the same audit apply."""
    task = VideoTask.objects.get(pk=task_id)
    edited = {**task.storyboard, "title": title, "description": description, "tags": list(tags)}
    return task_storyboard_edit(task_id=task_id, actor=actor, text=storyboard_yaml(edited))


def task_thumbnail_pick(*, task_id, actor, thumbnail):
    """The thumbnail the upload sends: an asset id, or a scene id (that scene's composite);
    empty for a frame of the final video."""
    task = VideoTask.objects.get(pk=task_id)
    edited = {**task.storyboard, "thumbnail": thumbnail or None}
    return task_storyboard_edit(task_id=task_id, actor=actor, text=storyboard_yaml(edited))
