"""The one place that builds workspace paths. Every id that becomes part of a path is checked
here, so no channel id, task id, asset id or scene id can escape WORKSPACE_ROOT.

    <WORKSPACE_ROOT>/channels/<channel_id>/projects/<task_id>/
        draft/storyboard.yaml draft/brief.yaml   (the writer's draft and the brief it was given)
        assets/ composites/ videos/ audio/ sfx/ final.mp4 manifest.json
        final.cut.json (assemble_video's record of the cut) final.check.json (the cut check)
        captions.vtt captions.srt (the narration's captions, for the player and for YouTube)
        rejected/final-1.mp4 ...   (the cuts a reviewer rejected, kept)
"""

from pathlib import Path

from core.media_keys import workspace_root
from core.media_store import media_key, media_store
from core.text.ids import SAFE_ID
from pipeline.step_tables import TABLES

# Output file of each step, by step name: (folder, extension), as the steps declare it.
STEP_OUTPUTS = TABLES.step_outputs


class UnsafePath(ValueError):
    pass


def safe_id(value, *, what="id"):
    """Return value if it is a plain id (letters, digits, '-', '_'; no dots, slashes or NUL)."""
    text = str(value)
    if "\x00" in text:
        raise UnsafePath(f"{what} {text!r}: contains a NUL byte")
    if not SAFE_ID.fullmatch(text):
        raise UnsafePath(
            f"{what} {text!r}: must be 1-64 letters, digits, '-' or '_' "
            "(no '/', '..', or absolute paths)"
        )
    return text


def ensure_inside_workspace(path):
    """Resolve path (following links) and refuse it unless it lies inside WORKSPACE_ROOT."""
    root = workspace_root()
    candidate = Path(path)
    if "\x00" in str(candidate):
        raise UnsafePath(f"path {str(candidate)!r}: contains a NUL byte")
    resolved = (root / candidate).resolve() if not candidate.is_absolute() else candidate.resolve()
    if resolved != root and root not in resolved.parents:
        raise UnsafePath(f"path {str(path)!r} is outside the workspace {root}")
    return resolved


def channel_dir(channel_id):
    return workspace_root() / "channels" / safe_id(channel_id, what="channel id")


def project_dir(channel_id, task_id):
    return channel_dir(channel_id) / "projects" / safe_id(task_id, what="task id")


def step_dir(channel_id, task_id, step):
    folder, _ = STEP_OUTPUTS[step]
    return project_dir(channel_id, task_id) / folder


def unit_output(channel_id, task_id, step, unit_id):
    folder, extension = STEP_OUTPUTS[step]
    return (
        project_dir(channel_id, task_id)
        / folder
        / f"{safe_id(unit_id, what=f'{step} id')}{extension}"
    )


def draft_storyboard(channel_id, task_id):
    """The storyboard the writer (scripts/generate_storyboard.py) drafted for a task."""
    return project_dir(channel_id, task_id) / "draft" / "storyboard.yaml"


def draft_brief(channel_id, task_id):
    """The channel brief given to the writer for a task (--channel-brief)."""
    return project_dir(channel_id, task_id) / "draft" / "brief.yaml"


def final_video(channel_id, task_id):
    return project_dir(channel_id, task_id) / "final.mp4"


def cut_record(channel_id, task_id):
    """assemble_video.py's record of the cut, written beside final.mp4."""
    return project_dir(channel_id, task_id) / "final.cut.json"


def cut_check(channel_id, task_id):
    """The automatic check of the final cut (pipeline/cut_check.py)."""
    return project_dir(channel_id, task_id) / "final.check.json"


CAPTION_FORMATS = ("vtt", "srt")


def captions(channel_id, task_id, kind):
    """The narration's captions: "vtt" for the review player, "srt" for YouTube."""
    if kind not in CAPTION_FORMATS:
        raise UnsafePath(f"caption format {kind!r}: must be one of {', '.join(CAPTION_FORMATS)}")
    return project_dir(channel_id, task_id) / f"captions.{kind}"


def manifest(channel_id, task_id):
    return project_dir(channel_id, task_id) / "manifest.json"


def published_dir(channel_id):
    return channel_dir(channel_id) / "published"


def rejected_dir(channel_id, task_id):
    """Where a task's rejected cuts are kept (final.mp4 of each rejected review, numbered)."""
    return project_dir(channel_id, task_id) / "rejected"


def rejected_cut(channel_id, task_id, number):
    """The number-th rejected cut of a task: rejected/final-<number>.mp4."""
    if not isinstance(number, int) or number < 1:
        raise UnsafePath(f"rejected cut number {number!r}: must be a positive integer")
    return rejected_dir(channel_id, task_id) / f"final-{number}.mp4"


def rejected_cuts(channel_id, task_id):
    """The rejected cuts kept so far in the media store, oldest first."""
    folder = rejected_dir(channel_id, task_id)
    names = [key.rsplit("/", 1)[-1] for key, _ in media_store().keys(media_key(folder))]
    cuts = [
        folder / name
        for name in names
        if name.startswith("final-")
        and name.endswith(".mp4")
        and name.removeprefix("final-").removesuffix(".mp4").isdigit()
    ]
    return sorted(cuts, key=lambda p: int(p.stem.removeprefix("final-")))


def published_video(channel_id, task_id):
    """Where the local upload provider "publishes" a task's video."""
    return published_dir(channel_id) / f"{safe_id(task_id, what='task id')}.mp4"
