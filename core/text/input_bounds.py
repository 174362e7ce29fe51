"""The bounds of what people write: storyboards (files, the editor, Notion cards, the writer's
drafts), channel files and the topics of drafts. One place, so the parsers, the editor and the
commands refuse the same things with the same words.

Why each bound exists:
- nesting depth: PyYAML and json build nested values recursively; a few hundred levels end in
  RecursionError, which no caller expects. Real storyboards nest 4 levels, channel files 3.
- total size: a storyboard is shown whole on the review page and kept in one database row.
- NUL and other control characters: PostgreSQL refuses NUL in text and JSON, and a lone surrogate
  cannot be written as UTF-8 at all; the others are invisible in every editor.
- field lengths: prompts and narration go to a script's command line (one argument may hold at
  most 128 KiB on Linux) and to providers with their own limits (Kling's prompt 2,500 characters,
  ElevenLabs' eleven_v3 3,000 characters a request).
- finite numbers: YAML reads .nan and .inf as floats, which pass every "low <= x <= high"
  written the other way round and break Decimal.
- ids by pattern: a voice id goes into a URL path, a model name into a request body and a
  command line.

Django-free: scripts/generate_storyboard.py checks its drafts with these rules too.
"""

import math
import re

MAX_DEPTH = 20  # nested mappings and lists, the document itself being level 1
MAX_STORYBOARD_BYTES = 256 * 1024  # UTF-8; a long real storyboard is about 30 KB
MAX_CHANNEL_FILE_BYTES = 64 * 1024

# Characters of each storyboard text field; the atmosphere is appended to every image and clip
# prompt, so prompt + atmosphere stays under Kling's 2,500.
STORYBOARD_TEXT_MAX = {
    "atmosphere": 400,
    "prompt": 2000,  # an asset's image prompt
    "motion": 2000,  # a scene's clip prompt
    "narration": 3000,
    "sfx": 450,  # ElevenLabs' sound-effect prompt
}
TOPIC_MAX_CHARACTERS = 1000
DIRECTION_MAX_CHARACTERS = 5000
TEXT_MAX_DEFAULT = 5000  # any other text a person writes (a channel's brief, say)

# C0 controls other than tab, newline and carriage return; DEL and the C1 controls; lone
# surrogates (a JSON or YAML "\ud800" escape), which have no UTF-8 form.
_FORBIDDEN_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# ElevenLabs voice ids are 20 letters and digits; a local voice may be a name.
VOICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
# A provider's model name: segments of letters, digits, '.', '_' and '-' joined by '/', each
# starting with a letter or digit (kling/v2-1-standard, eleven_multilingual_v2): no flag, no '..'.
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,3}$"


class InputRefused(ValueError):
    """The input as a whole is refused before it is parsed (too large, not UTF-8)."""


def _forbidden(character):
    if character == "\x00":
        return "a NUL character"
    if "\ud800" <= character <= "\udfff":
        return f"an unpaired surrogate ({character!r})"
    return f"a control character ({character!r})"


def character_problem(text):
    """Why `text` cannot be stored, or "" when it can."""
    match = _FORBIDDEN_CHARACTER.search(text)
    if match is None:
        return ""
    return (
        f"contains {_forbidden(match.group())} at position {match.start() + 1}; remove it (only "
        "tab and line breaks are allowed)"
    )


def text_problem(text, max_length):
    """Why a text field is refused (a forbidden character or too long), or ""."""
    problem = character_problem(text)
    if problem:
        return problem
    if len(text) > max_length:
        return f"must be at most {max_length} characters, got {len(text)}"
    return ""


def value_problems(value, path="", *, depth=1):
    """(path, message) for every string (keys too) holding a forbidden character, every number
    that is not finite, and nesting past MAX_DEPTH, anywhere in a parsed document."""
    if depth > MAX_DEPTH and isinstance(value, dict | list):
        return [(path, f"nests deeper than {MAX_DEPTH} levels; flatten it")]
    problems = []
    if isinstance(value, str):
        problem = character_problem(value)
        if problem:
            problems.append((path, problem))
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append((path, f"must be a finite number, got {value}"))
    elif isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            if character_problem(key_text):
                problems.append((path, f"a key {character_problem(key_text)}"))
                continue
            item_path = f"{path}.{key_text}" if path else key_text
            problems.extend(value_problems(item, item_path, depth=depth + 1))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.extend(value_problems(item, f"{path}[{index}]", depth=depth + 1))
    return problems


def bounded_text(content, *, max_bytes, what):
    """Text (str, or bytes decoded as UTF-8) no larger than max_bytes and without a forbidden
    character; raises InputRefused naming the line and column of the first one."""
    if isinstance(content, bytes):
        size = len(content)
    else:  # a character is at least one byte: only measure when it could fit
        size = len(content) if len(content) > max_bytes else len(content.encode("utf-8", "replace"))
    if size > max_bytes:
        raise InputRefused(
            f"{what} is {size:,} bytes; at most {max_bytes:,} are allowed (is it the right file?)"
        )
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputRefused(
                f"{what} is not UTF-8 text (byte {error.start + 1} cannot be read); save it as "
                "UTF-8"
            ) from None
    match = _FORBIDDEN_CHARACTER.search(content)
    if match:
        line = content.count("\n", 0, match.start()) + 1
        column = match.start() - (content.rfind("\n", 0, match.start()) + 1) + 1
        raise InputRefused(
            f"line {line}, column {column}: {_forbidden(match.group())}; remove it (only tab and "
            "line breaks are allowed)"
        )
    return content


def topic_problems(topic, direction):
    """Problems of a task's topic and story direction, each starting with its name; a draft's
    writer reads both, and a card's Topic is stored with the task it queues."""
    problems = []
    for name, text, limit in (
        ("topic", topic or "", TOPIC_MAX_CHARACTERS),
        ("direction", direction or "", DIRECTION_MAX_CHARACTERS),
    ):
        if problem := character_problem(text):
            problems.append(f"{name}: {problem}")
        elif len(text) > limit:
            problems.append(f"{name}: at most {limit} characters, got {len(text)}")
    return problems
