"""Captions from what is known exactly: each scene's narration text and, from the cut
(pipeline/cut.py), where the scene starts and how long its narration speaks.

A scene's narration is split at sentence boundaries, then at clause boundaries (, ; : and dashes),
then between words, into cues of at most two lines of about 42 characters (what YouTube and the
broadcast guidelines keep to). The narration's time is shared out in proportion to each cue's
characters (speech runs roughly at a constant rate of characters), no cue shorter than about one
second, so the first cue of a scene starts on the scene's first frame and the last ends when its
narration ends: captions never run into the next scene.

WebVTT for the review player's <track>, SubRip (SRT) for YouTube (captions.insert)."""

import html
import re
from dataclasses import dataclass

from core.media_store import media_text_put
from pipeline import paths

LINE_CHARS = 42
MAX_LINES = 2
MIN_CUE_SECONDS = 1.0
SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)]*\s+")
CLAUSE_END = re.compile(r"(?<=[,;:])\s+|\s+(?=[\u2014\u2013-]\s)")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple
    scene: str = ""

    @property
    def text(self):
        return "\n".join(self.lines)


def wrap(text, width=LINE_CHARS):
    """Greedy word wrap; a word longer than the width stands on its own line."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


def fits(text):
    return len(wrap(text)) <= MAX_LINES


def _by_words(text):
    """Pieces that each fit, cut between words."""
    pieces, piece = [], ""
    for word in text.split():
        candidate = f"{piece} {word}" if piece else word
        if piece and not fits(candidate):
            pieces.append(piece)
            piece = word
        else:
            piece = candidate
    return [*pieces, piece] if piece else pieces


def _pack(parts):
    """Join neighbouring parts while the result still fits two lines."""
    packed = []
    for part in parts:
        if packed and fits(f"{packed[-1]} {part}"):
            packed[-1] = f"{packed[-1]} {part}"
        else:
            packed.append(part)
    return packed


def phrases(text):
    """The narration as caption-sized pieces: whole sentences where they fit, else clauses,
    else runs of words; short neighbours within a sentence are packed together."""
    pieces = []
    for sentence in SENTENCE_END.split(" ".join(text.split())):
        if not sentence:
            continue
        if fits(sentence):
            pieces.append(sentence)
            continue
        clauses = []
        for clause in CLAUSE_END.split(sentence):
            clauses.extend([clause] if fits(clause) else _by_words(clause))
        pieces.extend(_pack(clauses))
    return pieces


def _merge_shortest(pieces, durations):
    """Merge the shortest piece into its shorter neighbour (used when the narration is too short
    for every piece to get its second)."""
    index = min(range(len(pieces)), key=lambda i: durations[i])
    if index == 0:
        other = 1
    elif index == len(pieces) - 1:
        other = index - 1
    else:
        other = index - 1 if durations[index - 1] <= durations[index + 1] else index + 1
    first, second = sorted((index, other))
    return pieces[:first] + [f"{pieces[first]} {pieces[second]}"] + pieces[second + 1 :]


def _durations(pieces, seconds):
    """Each piece's share of `seconds`, by characters, none under MIN_CUE_SECONDS (the longer
    pieces give up what the short ones need)."""
    weights = [max(len(piece), 1) for piece in pieces]
    fixed = {}
    while True:
        free = seconds - MIN_CUE_SECONDS * len(fixed)
        rest = [i for i in range(len(pieces)) if i not in fixed]
        if not rest:
            return [fixed[i] for i in range(len(pieces))]
        total = sum(weights[i] for i in rest)
        shares = {i: free * weights[i] / total for i in rest}
        short = [i for i, share in shares.items() if share < MIN_CUE_SECONDS]
        if not short:
            return [fixed.get(i, shares.get(i)) for i in range(len(pieces))]
        for i in short:
            fixed[i] = MIN_CUE_SECONDS


def scene_cues(text, *, start, speech_seconds, scene_end, scene=""):
    """The cues of one scene whose narration `text` speaks for `speech_seconds` from `start`."""
    pieces = phrases(text)
    if not pieces:
        return []
    # The narration's time, stretched to the scene's end if it is too short to give each
    # piece its second; pieces are merged when even the whole scene is too short.
    span = max(speech_seconds or 0.0, 0.0)
    room = max(scene_end - start, 0.0)
    while len(pieces) > 1 and MIN_CUE_SECONDS * len(pieces) > max(span, room):
        pieces = _merge_shortest(pieces, [len(piece) for piece in pieces])
    span = min(max(span, MIN_CUE_SECONDS * len(pieces)), room) if room else span
    cues, at = [], start
    durations = _durations(pieces, span) if len(pieces) > 1 else [span]
    for index, (piece, seconds) in enumerate(zip(pieces, durations, strict=True)):
        end = start + span if index == len(pieces) - 1 else at + seconds
        cues.append(Cue(at, end, tuple(wrap(piece)), scene))
        at = end
    return cues


def cues_for_cut(storyboard, cut):
    """Every cue of the video, in order: each scene's narration over its span of the cut."""
    cues = []
    for scene in storyboard.get("scenes", []):
        placed = cut.scene(scene["id"])
        if placed is None or not scene.get("narration"):
            continue
        speech = placed.narration_seconds or placed.seconds
        cues.extend(
            scene_cues(
                scene["narration"],
                start=placed.start,
                speech_seconds=min(speech, placed.seconds),
                scene_end=placed.end,
                scene=scene["id"],
            )
        )
    return cues


def _timestamp(seconds, separator):
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, milli = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{separator}{milli:03d}"


def to_vtt(cues):
    blocks = ["WEBVTT"]
    for number, cue in enumerate(cues, start=1):
        text = "\n".join(html.escape(line, quote=False) for line in cue.lines)
        timing = f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}"
        blocks.append(f"{number}\n{timing}\n{text}")
    return "\n\n".join(blocks) + "\n"


def to_srt(cues):
    blocks = []
    for number, cue in enumerate(cues, start=1):
        timing = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        blocks.append(f"{number}\n{timing}\n{cue.text}")
    return "\n\n".join(blocks) + "\n"


def captions_write(task, cut):
    """Write the task's captions.vtt and captions.srt from its cut; returns the cues."""
    cues = cues_for_cut(task.storyboard, cut)
    media_text_put(paths.captions(task.channel_id, str(task.pk), "vtt"), to_vtt(cues))
    media_text_put(paths.captions(task.channel_id, str(task.pk), "srt"), to_srt(cues))
    return cues


def captions_language(task):
    """The storyboard's language, else the channel's."""
    return task.storyboard.get("language") or task.channel.default_language or "en"
