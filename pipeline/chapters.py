"""YouTube chapters in the description, from the measured cut (pipeline/cut.py).

YouTube makes chapters of timestamp lines in the description when the first is 0:00, they
ascend, there are at least three and each chapter lasts at least ten seconds. Chapters start at
scene boundaries: a scene shorter than ten seconds joins the chapter before it (the first scenes
join the one after), and a video that cannot make three such chapters gets none. A chapter's
title is its first scene's storyboard title, else the start of its narration (the writer's
words). The block is added only when the whole description still fits YouTube's 5,000 bytes."""

from core.text.youtube_text_limits import DESCRIPTION_MAX_BYTES, description_bytes
from pipeline.cut import cut_load

MIN_CHAPTERS = 3
MIN_CHAPTER_SECONDS = 10.0
TITLE_CHARS = 60


def timestamp(seconds):
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def scene_title(scene):
    """YouTube refuses < and > anywhere in a description: they never reach a title."""
    return _title(scene).replace("<", "").replace(">", "")


def _title(scene):
    title = (scene.get("title") or "").strip()
    if title:
        return title
    words = " ".join((scene.get("narration") or scene["id"]).split())
    sentence = words.split(". ")[0].rstrip(".")
    if len(sentence) <= TITLE_CHARS:
        return sentence
    return sentence[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "\u2026"


def chapters(storyboard, cut):
    """[(start seconds, title)] or [] when the video does not make three ten-second chapters."""
    if cut is None:
        return []
    by_id = {scene["id"]: scene for scene in storyboard.get("scenes", [])}
    groups = []  # [start, end, first scene]
    for placed in cut.scenes:
        if groups and groups[-1][1] - groups[-1][0] < MIN_CHAPTER_SECONDS:
            groups[-1][1] = placed.end  # the open chapter is still too short: it grows
        else:
            groups.append([placed.start, placed.end, by_id.get(placed.scene, {"id": placed.scene})])
    if len(groups) > 1 and groups[-1][1] - groups[-1][0] < MIN_CHAPTER_SECONDS:
        groups[-2][1] = groups.pop()[1]
    if len(groups) < MIN_CHAPTERS:
        return []
    groups[0][0] = 0.0
    return [(start, scene_title(scene)) for start, _, scene in groups]


def chapters_block(found):
    return "\n".join(f"{timestamp(start)} {title}" for start, title in found)


def description_with_chapters(description, found, max_bytes=DESCRIPTION_MAX_BYTES):
    """The description with its chapters, or as it was when they would not fit."""
    if not found:
        return description
    text = f"{description.rstrip()}\n\nChapters:\n{chapters_block(found)}".lstrip()
    return text if description_bytes(text) <= max_bytes else description


def task_description(task):
    """The description sent to YouTube: the storyboard's, with chapters of the measured cut."""
    description = task.storyboard.get("description") or ""
    return description_with_chapters(description, chapters(task.storyboard, cut_load(task)))
