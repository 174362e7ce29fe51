"""What the review page shows for editing: the storyboard editor, the "redo what changed"
preview (which units an edit makes again and what they are expected to cost) and, at the final
gate, exactly what will go to YouTube with its editable title, description, tags and thumbnail."""

import datetime as dt

from django.utils import timezone

from core.text.youtube_text_limits import category_label
from pipeline.integrations.youtube_metadata import publication_preview
from pipeline.selectors import media_url
from pipeline.status import PRODUCTION_STEPS
from pipeline.storyboard_edits import storyboard_editable, storyboard_yaml
from reviews.decisions import (
    redo_changed_plan,
    redo_estimate_usd,
    redo_steps,
    redo_steps_after_stop,
)
from reviews.reviewer_checks import ReviewError


def redo_changed_preview(task, *, allowed=PRODUCTION_STEPS):
    """(plan, estimated USD, "") or (None, 0, why not) for the review page, before confirming."""
    try:
        plan = redo_changed_plan(task, allowed=allowed)
    except ReviewError as error:
        return None, 0, str(error)
    return plan, redo_estimate_usd(task, plan), ""


def editing_context(task, *, gate, stopped, **edits):
    context = {
        "storyboard_editable": storyboard_editable(task),
        "storyboard_text": edits.get("storyboard_text") or storyboard_yaml(task.storyboard),
        "storyboard_errors": edits.get("storyboard_errors", []),
        "redo_changed": None,
        "publication": None,
    }
    if (gate or stopped) and task.storyboard.get("scenes"):
        allowed = redo_steps(gate) if gate else redo_steps_after_stop(task)
        plan, estimate, why_not = redo_changed_preview(task, allowed=allowed)
        context["redo_changed"] = {
            "units": list(plan.units.items()) if plan else [],
            "estimate": estimate,
            "why_not": why_not,
        }
    if gate == "final":
        context["publication"] = _publication(task, edits)
    return context


def _publication(task, edits):
    preview = publication_preview(task, now=timezone.now())
    what, source = preview["thumbnail"]
    snippet = preview["body"]["snippet"]
    scenes = [scene["id"] for scene in task.storyboard.get("scenes", [])]
    assets = [asset["id"] for asset in task.storyboard.get("assets", [])]
    local, utc = preview["publish_at_local"], preview["publish_at_utc"]
    return {
        **preview,
        # Formatted here: the template's date filter would turn the local time back into UTC.
        "publish_local_text": local.strftime("%Y-%m-%d %H:%M") if local else "",
        "publish_utc_text": utc.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if utc else "",
        "thumbnail_what": what,
        "category": category_label(snippet.get("categoryId", "")),
        "thumbnail_url": media_url(source) if source.suffix != ".mp4" else "",
        "thumbnail_choices": [("", "a frame of the final video")]
        + [(scene, f"scene {scene} (composite)") for scene in scenes]
        + [(asset, f"asset {asset}") for asset in assets],
        "thumbnail_current": task.storyboard.get("thumbnail") or "",
        "form": {
            "title": edits.get("title", snippet["title"]),
            "description": edits.get("description", snippet["description"]),
            "tags": edits.get("tags_text", "\n".join(task.storyboard.get("tags") or [])),
        },
        "form_errors": edits.get("metadata_errors", []),
    }
