"""The channel's style bible: the `brief:` block of a channel file, the writer's standing
instructions for every storyboard it drafts.

    brief:
      premise: calm nature documentaries about Pokémon as if they were real wildlife
      tone: hushed, warm, curious; short sentences; never jokes about danger
      visual_style: misty golden-hour light, BBC nature documentary cinematography
      scene_count: 8          # 4-18 scenes per video
      clip_seconds: 10        # 5 or 10: the clip lengths Kling makes
      title_style: "The Secret Life of <creature>", at most 60 characters
      description_template: |
        {description}

        Made with AI-generated imagery and voice.

The writer also needs the channel's language and default tags; those already have their place
in the channel file (default_language, tags), so the brief does not repeat them:
`brief_for_writer` adds them to the document given to scripts/generate_storyboard.py
(--channel-brief FILE), which checks that document with `brief_validate(..., for_writer=True)`.

Plain Python, no Django, so the script validates a brief with the same rules as the channel file.
Problems are (path, message) pairs, the path relative to the brief (".scene_count").
"""

from core.text import youtube_text_limits
from core.text.config_text import describe, did_you_mean

SCENE_COUNT_MIN, SCENE_COUNT_MAX = 4, 18
CLIP_SECONDS = (5, 10)
DESCRIPTION_PLACEHOLDER = "{description}"
# field -> (maximum characters, what it is): free text fields of the brief
TEXT_FIELDS = {
    "premise": (1000, "what the channel is about"),
    "tone": (500, "how the narrator sounds"),
    "visual_style": (500, "the look every image and clip shares (the storyboard's atmosphere)"),
    "title_style": (300, "how titles are written"),
}
BRIEF_DEFAULTS = {
    "premise": "",
    "tone": "",
    "visual_style": "",
    "scene_count": 8,
    "clip_seconds": 10,
    "title_style": "",
    "description_template": "",
}
WRITER_ONLY_FIELDS = {"language": "en", "default_tags": []}
# Keys a person may expect in the brief but which the channel file already holds elsewhere.
ELSEWHERE = {
    "language": "the channel's language is the top-level default_language; set it there",
    "default_language": "default_language is a top-level key of the channel file; set it there",
    "default_tags": "the channel's default tags are the top-level tags: list; set them there",
    "tags": "the channel's default tags are the top-level tags: list; set them there",
}


def brief_validate(data, *, for_writer=False):
    """Check a brief mapping; return (normalized brief with defaults filled in, problems).

    for_writer: the document scripts/generate_storyboard.py reads, which also carries
    language and default_tags (see brief_for_writer)."""
    problems = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return dict(BRIEF_DEFAULTS), [("", f"must be a mapping of fields, got {describe(data)}")]
    allowed = [*BRIEF_DEFAULTS, *(WRITER_ONLY_FIELDS if for_writer else ())]
    for key in data:
        if key in allowed:
            continue
        if key in ELSEWHERE and not for_writer:
            problems.append((f".{key}", ELSEWHERE[key]))
        else:
            hint = did_you_mean(key, allowed)
            message = (
                f"unknown key; {hint}" if hint else f"unknown key; allowed: {', '.join(allowed)}"
            )
            problems.append((f".{key}", message))
    brief = {}
    for name, (max_length, what) in TEXT_FIELDS.items():
        brief[name] = _text(data.get(name), f".{name}", max_length, what, problems)
    brief["scene_count"] = _scene_count(data.get("scene_count"), problems)
    brief["clip_seconds"] = _clip_seconds(data.get("clip_seconds"), problems)
    brief["description_template"] = _description_template(
        data.get("description_template"), problems
    )
    if for_writer:
        brief["language"] = _language(data.get("language"), problems)
        brief["default_tags"] = _default_tags(data.get("default_tags"), problems)
    return brief, problems


def brief_for_writer(brief, *, language, default_tags):
    """The --channel-brief document for scripts/generate_storyboard.py, from a channel's stored
    brief (Channel.brief) and its default_language and tags."""
    return {**BRIEF_DEFAULTS, **(brief or {}), "language": language, "default_tags": default_tags}


def brief_description(template, description):
    """A drafted description put into the channel's template: at {description}, else first."""
    if not template:
        return description
    if DESCRIPTION_PLACEHOLDER in template:
        return template.replace(DESCRIPTION_PLACEHOLDER, description).strip()
    return f"{description}\n\n{template}".strip()


# --- Field checks ---------------------------------------------------------------------------


def _text(value, path, max_length, what, problems):
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append((path, f"must be text ({what}), got {describe(value)}"))
        return ""
    text = value.strip()
    if len(text) > max_length:
        problems.append((path, f"must be at most {max_length} characters, got {len(text)}"))
    return text


def _whole_number(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _scene_count(value, problems):
    if value is None:
        return BRIEF_DEFAULTS["scene_count"]
    if not _whole_number(value) or not SCENE_COUNT_MIN <= value <= SCENE_COUNT_MAX:
        problems.append(
            (".scene_count", f"must be {SCENE_COUNT_MIN}-{SCENE_COUNT_MAX}, got {describe(value)}")
        )
        return BRIEF_DEFAULTS["scene_count"]
    return value


def _clip_seconds(value, problems):
    if value is None:
        return BRIEF_DEFAULTS["clip_seconds"]
    if not _whole_number(value) or value not in CLIP_SECONDS:
        problems.append(
            (
                ".clip_seconds",
                f"must be 5 or 10 (the clip lengths Kling makes), got {describe(value)}",
            )
        )
        return BRIEF_DEFAULTS["clip_seconds"]
    return value


def _description_template(value, problems):
    template = _text(value, ".description_template", 10**6, "text around every description",
                     problems)  # fmt: skip
    for problem in youtube_text_limits.description_problems(template):
        problems.append((".description_template", problem))
    if template.count(DESCRIPTION_PLACEHOLDER) > 1:
        problems.append(
            (".description_template", f"may contain {DESCRIPTION_PLACEHOLDER} at most once")
        )
    return template


def _language(value, problems):
    if value is None:
        return WRITER_ONLY_FIELDS["language"]
    if not isinstance(value, str) or not value.strip() or len(value) > 20:
        problems.append(
            (".language", f'must be a language code such as "en", got {describe(value)}')
        )
        return WRITER_ONLY_FIELDS["language"]
    return value.strip()


def _default_tags(value, problems):
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(tag, str) and tag.strip() for tag in value
    ):
        problems.append((".default_tags", f"must be a list of text, got {describe(value)}"))
        return []
    tags = [tag.strip() for tag in value]
    for problem in youtube_text_limits.tags_problems(tags):
        problems.append((".default_tags", problem))
    return tags
