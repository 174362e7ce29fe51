"""The `local` upload provider: "publishes" into the workspace, for rehearsals and the demo. The
core's own upload provider; others (YouTube) register themselves with the step table."""

import json
import os
import shutil

from django.utils import timezone

from pipeline import paths
from pipeline.unit_spec import UnitSpec
from pipeline.upload_guard import disclosure_flags


def write_atomically(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def publish_locally(task):
    """The `local` upload provider: "publishes" into the workspace, for rehearsals and the demo."""
    source = paths.final_video(task.channel_id, str(task.pk))
    target_dir = paths.published_dir(task.channel_id)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{task.pk}.mp4"
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)
    flags = disclosure_flags(task.channel)
    metadata = {
        "task_id": str(task.pk),
        "title": task.storyboard["title"][:100],
        "description": task.storyboard.get("description", ""),
        "tags": task.storyboard.get("tags") or task.channel.tags,
        "privacy_status": task.channel.privacy,
        "made_for_kids": flags["selfDeclaredMadeForKids"],
        "contains_synthetic_media": flags["containsSyntheticMedia"],
        "published_at": timezone.now().isoformat(),
    }
    write_atomically(target.with_suffix(".json"), json.dumps(metadata, indent=2))
    return {"outputs": [str(target)], "usage": {}, "url": target.as_uri()}


def local_upload_unit(task):
    return UnitSpec(
        unit="video",
        output=paths.published_dir(task.channel_id) / f"{task.pk}.mp4",
        provider="local",
        function=publish_locally,
    )
