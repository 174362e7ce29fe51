"""The final cut as assembled: where each scene starts and ends, how long its narration speaks,
and how its clip was fitted. Read from assemble_video.py's record (final.cut.json, written beside
final.mp4); captions, chapters and the cut check all take their scene boundaries from here, so
they agree with each other and with the picture.

An operator's own assemble script may write no record: the cut is then worked out the way
assemble_video.py fits clips (each scene lasts its narration, else its clip; whole frames on the
running total), from the measured files. Such a cut says nothing of slowed or held clips."""

import json
from dataclasses import dataclass

from core.media_cache import media_local_copy
from core.media_store import MediaStoreError, media_key, media_store, media_text
from pipeline import paths
from pipeline.media import media_duration

FRAME_RATE = 30  # what assemble_video.py makes (scripts/_common.py FRAME_RATE)


@dataclass(frozen=True)
class SceneCut:
    scene: str
    number: int  # 1-based position in the cut
    start: float
    end: float
    narration_seconds: float | None  # None: the scene has no narration
    clip_seconds: float | None = None  # the clip's own length, when recorded
    slowdown: float = 1.0
    held_seconds: float = 0.0

    @property
    def seconds(self):
        return self.end - self.start


@dataclass(frozen=True)
class Cut:
    frame_rate: int
    seconds: float
    scenes: list
    recorded: bool  # from assemble_video's record (else worked out from the files)
    music: dict | None = None

    def scene(self, scene_id):
        return next((scene for scene in self.scenes if scene.scene == scene_id), None)


def cut_load(task):
    """The task's cut, or None when there is no final video to speak of."""
    text = media_text(paths.cut_record(task.channel_id, str(task.pk)))
    try:
        document = json.loads(text) if text else None
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("clips"), list):
        return cut_from_record(document, task.storyboard.get("scenes", []))
    return cut_from_files(task)


def cut_from_record(document, storyboard_scenes):
    rate = int(document.get("frame_rate") or FRAME_RATE)
    scenes = []
    for index, clip in enumerate(document["clips"]):
        # A record without scene ids (a hand-written manifest) maps clips to scenes in order.
        scene_id = clip.get("scene") or (
            storyboard_scenes[index]["id"] if index < len(storyboard_scenes) else str(index + 1)
        )
        start = clip["start_frame"] / rate
        scenes.append(
            SceneCut(
                scene=str(scene_id),
                number=index + 1,
                start=start,
                end=start + clip["frames"] / rate,
                narration_seconds=clip.get("narration_seconds"),
                clip_seconds=clip.get("clip_seconds"),
                slowdown=float(clip.get("slowdown") or 1.0),
                held_seconds=float(clip.get("held_seconds") or 0.0),
            )
        )
    seconds = document.get("frames", 0) / rate if document.get("frames") else scenes[-1].end
    return Cut(rate, seconds, scenes, recorded=True, music=document.get("music"))


def cut_from_files(task):
    from pipeline.steps import STEP_BY_NAME  # the step table imports much; only needed here

    if not media_store().exists(media_key(paths.final_video(task.channel_id, str(task.pk)))):
        return None
    scenes, frames_total, wanted_total = [], 0, 0.0
    for index, scene in enumerate(task.storyboard.get("scenes", [])):
        narration = None
        if scene.get("narration"):
            narration = _stored_duration(STEP_BY_NAME["audio"].output(task, scene["id"]))
        clip = _stored_duration(STEP_BY_NAME["videos"].output(task, scene["id"]))
        wanted_total += narration or clip or float(scene.get("duration") or 0)
        frames = max(1, round(wanted_total * FRAME_RATE) - frames_total)
        start = frames_total / FRAME_RATE
        frames_total += frames
        scenes.append(
            SceneCut(scene["id"], index + 1, start, frames_total / FRAME_RATE, narration, clip)
        )
    return Cut(FRAME_RATE, frames_total / FRAME_RATE, scenes, recorded=False)


def _stored_duration(path):
    """The length of a stored file (through the worker's cache when the store is a bucket)."""
    try:
        return media_duration(media_local_copy(media_key(path)))
    except (FileNotFoundError, MediaStoreError):
        return None
