"""The `local` upload provider: "publishes" into the workspace, for rehearsals and the demo. The
core's own upload provider; others (YouTube) register themselves with the step table."""

import json
import os

from django.utils import timezone

from core.media_store import media_key, media_store
from pipeline import paths
from pipeline.unit_spec import UnitSpec
from pipeline.upload_guard import disclosure_flags


def write_atomically(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def publish_locally(task):
    """The `local` upload provider: "publishes" into the media store (a copy of the final cut,
    read from the store, and its metadata beside it), for rehearsals and the demo."""
    store = media_store()
    source = media_key(paths.final_video(task.channel_id, str(task.pk)))
    target = paths.published_video(task.channel_id, str(task.pk))
    store.copy(source, media_key(target))
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
    store.put_bytes(media_key(target.with_suffix(".json")), json.dumps(metadata, indent=2).encode())
    return {"outputs": [str(target)], "usage": {}, "url": target.as_uri()}


def local_upload_unit(task):
    return UnitSpec(
        unit="video",
        output=paths.published_video(task.channel_id, str(task.pk)),
        provider="local",
        function=publish_locally,
    )
