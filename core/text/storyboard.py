"""Storyboards: one video's title, assets and scenes.

`storyboard_parse` reads YAML (or JSON) text, `storyboard_validate` checks an already parsed
dict (from Notion or the admin). Both return the storyboard normalized, with every optional key
present, so the pipeline can rely on them; validating a normalized storyboard again returns it
unchanged. Every problem is reported at once, each naming its path:

    storyboard: scenes[3].composite.environment: unknown asset 'lake' (assets: bulbasaur, forest)

Title, description and tags are held to YouTube's own limits (core.text.youtube_text_limits), so a
video YouTube would refuse is refused here, before anything is paid for. The module needs no
Django set-up (no models, no settings read), so scripts/generate_storyboard.py validates a draft
with exactly this parser.
"""

import re

import yaml

from core.text import youtube_text_limits
from core.text.config_text import (
    CHANNEL_ID_PATTERN,
    describe,
    did_you_mean,
    yaml_error_message,
    yaml_load,
)
from core.text.input_bounds import (
    MAX_STORYBOARD_BYTES,
    STORYBOARD_TEXT_MAX,
    InputRefused,
    bounded_text,
    value_problems,
)
from core.text.narration import narration_fit_problems
from core.text.storyboard_checks import (
    Errors,
    StoryboardInvalid,
    as_list,
    as_mapping,
    optional_text,
    required_text,
    safe_id,
    unique_ids,
    unknown_keys,
)

MAX_ASSETS = 100
MAX_SCENES = 200
DURATION_MIN, DURATION_MAX = 1, 30  # seconds of a scene in the final video
CLIP_LENGTHS = (5, 10)  # the clip lengths Kling makes; a scene's clip is the next one up
SCALE_MIN, SCALE_MAX = 0.1, 3
ASSET_KINDS = ("character", "environment", "prop")
# composite role -> (asset kinds it takes, how to name them in a message)
COMPOSITE_KINDS = {
    "environment": (("environment",), "an environment"),
    "character": (("character", "prop"), "a character or prop"),
}

TOP_KEYS = (
    "title",
    "channel",
    "atmosphere",
    "description",
    "tags",
    "thumbnail",
    "assets",
    "scenes",
)
ASSET_KEYS = ("id", "kind", "prompt", "reference")
SCENE_KEYS = ("id", "composite", "split", "motion", "narration", "sfx", "duration")
COMPOSITE_KEYS = ("environment", "character", "scale")
_CHANNEL_ID = re.compile(CHANNEL_ID_PATTERN)


def storyboard_parse(text, *, source="storyboard"):
    """Parse storyboard YAML (JSON is YAML too), as text or UTF-8 bytes of at most
    MAX_STORYBOARD_BYTES, and validate it; see storyboard_validate."""
    try:
        data = yaml_load(bounded_text(text, max_bytes=MAX_STORYBOARD_BYTES, what="the storyboard"))
    except InputRefused as error:
        raise StoryboardInvalid([f"{source}: {error}"]) from None
    except yaml.YAMLError as error:
        raise StoryboardInvalid([f"{source}: {yaml_error_message(error)}"]) from None
    return storyboard_validate(data, source=source)


def storyboard_validate(data, *, source="storyboard"):
    """Check a parsed storyboard and return it normalized; raise StoryboardInvalid otherwise."""
    errors = Errors(source)
    if data is None:
        errors.add("", "the storyboard is empty; it needs at least title, assets and scenes")
    elif not isinstance(data, dict):
        errors.add(
            "", f"must be a mapping (title: ..., assets: ..., scenes: ...), got {describe(data)}"
        )
    else:
        # Before any field is read: a NUL, a NaN or a too-deep value would fail later, far away.
        for path, message in value_problems(data):
            errors.add(path, message)
    errors.raise_if_any()
    unknown_keys(data, TOP_KEYS, "", errors)
    assets = _assets(data.get("assets"), errors)
    assets_by_id = {asset["id"]: asset for asset in assets if asset.get("id")}
    scenes = _scenes(data.get("scenes"), assets_by_id, errors)
    for path, message in narration_fit_problems(scenes):
        errors.add(path, message)
    result = {
        "title": _title(data.get("title"), errors),
        "channel": _channel(data.get("channel"), errors),
        "atmosphere": optional_text(
            data.get("atmosphere"),
            "atmosphere",
            errors,
            max_length=STORYBOARD_TEXT_MAX["atmosphere"],
        ),
        "description": _description(data.get("description"), errors),
        "tags": _tags(data.get("tags"), errors),
        "thumbnail": _thumbnail(data.get("thumbnail"), assets_by_id, scenes, errors),
        "assets": assets,
        "scenes": scenes,
    }
    errors.raise_if_any()
    return result


def _title(value, errors):
    title = required_text(value, "title", errors, what="the video's title")
    if title is None:
        return ""
    for problem in youtube_text_limits.title_problems(title):
        errors.add("title", problem)
    return title


def _channel(value, errors):
    if value is None:
        return None
    if not isinstance(value, str) or not _CHANNEL_ID.fullmatch(value):
        errors.add(
            "channel",
            f"{describe(value)} is not a valid channel id: 1-63 lowercase letters, digits, '-' or "
            "'_' (the name of its file in channel_configs/, without .yaml)",
        )
        return None
    return value


def _description(value, errors):
    description = optional_text(value, "description", errors)
    for problem in youtube_text_limits.description_problems(description):
        errors.add("description", problem)
    return description


def _tags(value, errors):
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add("tags", f"must be a list of text, got {describe(value)}")
        return []
    tags = []
    for index, tag in enumerate(value):
        if isinstance(tag, str) and tag.strip():
            tags.append(tag.strip())
        else:
            errors.add(f"tags[{index}]", f"must be non-empty text, got {describe(tag)}")
    for problem in youtube_text_limits.tags_problems(tags):
        errors.add("tags", problem)
    return tags


def _thumbnail(value, assets_by_id, scenes, errors):
    if value is None:
        return None
    scene_ids = [scene["id"] for scene in scenes if scene.get("id")]
    if isinstance(value, str) and (value in assets_by_id or value in scene_ids):
        return value
    choices = list(dict.fromkeys([*assets_by_id, *scene_ids]))
    hint = did_you_mean(value, choices) if isinstance(value, str) else ""
    errors.add(
        "thumbnail",
        f"unknown asset or scene {describe(value)}"
        + (f"; {hint}" if hint else f" (ids: {', '.join(choices)})"),
    )
    return None


# --- Assets ---------------------------------------------------------------------------------


def _assets(value, errors):
    assets = []
    for index, item in enumerate(as_list(value, "assets", "assets", errors, maximum=MAX_ASSETS)):
        assets.append(_asset(item, f"assets[{index}]", errors))
    unique_ids(assets, "asset", "assets", errors)
    ids = {asset["id"]: asset for asset in assets if asset.get("id")}
    for index, asset in enumerate(assets):
        _asset_reference(asset, ids, f"assets[{index}].reference", errors)
    return assets


def _asset(item, path, errors):
    item = as_mapping(item, path, "id, kind, prompt", errors)
    if item is None:
        return {}
    unknown_keys(item, ASSET_KEYS, path, errors)
    kind = item.get("kind")
    if kind not in ASSET_KINDS:
        hint = did_you_mean(kind, ASSET_KINDS) if isinstance(kind, str) else ""
        message = "is required" if kind is None else f"unknown kind {describe(kind)}"
        errors.add(
            f"{path}.kind",
            f"{message}; choose from {', '.join(ASSET_KINDS)}" + (f" ({hint})" if hint else ""),
        )
    reference = item.get("reference")
    return {
        "id": safe_id(item.get("id"), f"{path}.id", errors),
        "kind": kind if kind in ASSET_KINDS else None,
        "prompt": required_text(
            item.get("prompt"),
            f"{path}.prompt",
            errors,
            what="what the image shows",
            max_length=STORYBOARD_TEXT_MAX["prompt"],
        ),
        "reference": None if reference is None else safe_id(reference, f"{path}.reference", errors),
    }


def _asset_reference(asset, ids, path, errors):
    """A reference image must be another asset, made first: no self-reference, no cycle."""
    reference = asset.get("reference")
    if not reference or not asset.get("id"):
        return
    if reference not in ids:
        errors.add(path, _unknown_asset_message(reference, ids))
        return
    chain = [asset["id"]]
    while reference and reference in ids:
        if reference in chain:
            cycle = " -> ".join([*chain, reference])
            errors.add(path, f"references form a cycle ({cycle}); an asset cannot depend on itself")
            return
        chain.append(reference)
        reference = ids[reference].get("reference")


def _unknown_asset_message(asset_id, ids):
    hint = did_you_mean(asset_id, ids)
    return f"unknown asset {asset_id!r}" + (
        f"; {hint}" if hint else f" (assets: {', '.join(ids) or 'none'})"
    )


# --- Scenes ---------------------------------------------------------------------------------


def _scenes(value, assets_by_id, errors):
    scenes = []
    for index, item in enumerate(as_list(value, "scenes", "scenes", errors, maximum=MAX_SCENES)):
        scenes.append(_scene(item, f"scenes[{index}]", assets_by_id, errors))
    unique_ids(scenes, "scene", "scenes", errors)
    return scenes


def _scene(item, path, assets_by_id, errors):
    item = as_mapping(item, path, "id, composite or split, motion, narration, duration", errors)
    if item is None:
        return {}
    unknown_keys(item, SCENE_KEYS, path, errors)
    composite, split = _scene_image(item, path, assets_by_id, errors)
    motion_help = "the camera and subject movement"
    narration_help = "the words spoken over the scene; every scene has narration"
    return {
        "id": safe_id(item.get("id"), f"{path}.id", errors),
        "composite": composite,
        "split": split,
        "motion": required_text(
            item.get("motion"),
            f"{path}.motion",
            errors,
            what=motion_help,
            max_length=STORYBOARD_TEXT_MAX["motion"],
        ),
        "narration": required_text(
            item.get("narration"),
            f"{path}.narration",
            errors,
            what=narration_help,
            max_length=STORYBOARD_TEXT_MAX["narration"],
        ),
        "sfx": optional_text(
            item.get("sfx"), f"{path}.sfx", errors, max_length=STORYBOARD_TEXT_MAX["sfx"]
        ),
        "duration": _duration(item.get("duration"), f"{path}.duration", errors),
    }


def _scene_image(item, path, assets_by_id, errors):
    """(composite, split): exactly one of them is given, the other is None."""
    composite, split = item.get("composite"), item.get("split")
    if composite is not None and split is not None:
        errors.add(path, "has both composite and split; a scene's image is one or the other")
        return None, None
    if composite is not None:
        return _composite(composite, f"{path}.composite", assets_by_id, errors), None
    if split is not None:
        return None, _split(split, f"{path}.split", assets_by_id, errors)
    errors.add(
        path,
        "needs an image: composite: {environment: <asset>, character: <asset>} "
        "or split: [<asset>, <asset>]",
    )
    return None, None


def _asset_of_kind(value, path, kinds, assets_by_id, errors):
    """An asset id that exists and whose kind fits: kinds is (kinds, name) or None for any."""
    if not isinstance(value, str):
        errors.add(path, f"must be an asset id, got {describe(value)}")
        return None
    asset = assets_by_id.get(value)
    if asset is None:
        errors.add(path, _unknown_asset_message(value, assets_by_id))
        return value
    if kinds and asset.get("kind") and asset["kind"] not in kinds[0]:
        place = path.split(".", 1)[1]
        errors.add(path, f"asset {value!r} is {_a(asset['kind'])}; {place} needs {kinds[1]} asset")
    return value


def _a(word):
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _composite(value, path, assets_by_id, errors):
    value = as_mapping(value, path, "environment, character, optional scale", errors)
    if value is None:
        return None
    unknown_keys(value, COMPOSITE_KEYS, path, errors)
    result = {}
    for role, kinds in COMPOSITE_KINDS.items():
        if value.get(role) is None:
            errors.add(f"{path}.{role}", f"is required (the id of {kinds[1]} asset)")
            result[role] = None
        else:
            result[role] = _asset_of_kind(
                value[role], f"{path}.{role}", kinds, assets_by_id, errors
            )
    result["scale"] = _scale(value.get("scale"), f"{path}.scale", errors)
    return result


def _number_between(value, low, high):
    return not isinstance(value, bool) and isinstance(value, int | float) and low <= value <= high


def _scale(value, path, errors):
    if value is None:
        return 1.0
    if not _number_between(value, SCALE_MIN, SCALE_MAX):
        limits = f"must be a number from {SCALE_MIN} to {SCALE_MAX} (1.0 is the natural size)"
        errors.add(path, f"{limits}, got {describe(value)}")
        return 1.0
    return float(value)


def _split(value, path, assets_by_id, errors):
    if not isinstance(value, list) or len(value) != 2:
        errors.add(
            path,
            f"must be a list of exactly two asset ids [left, right], got {describe(value)}"
            + (f" of {len(value)}" if isinstance(value, list) else ""),
        )
        return None
    return [
        _asset_of_kind(item, f"{path}[{index}]", None, assets_by_id, errors)
        for index, item in enumerate(value)
    ]


def _duration(value, path, errors):
    if value is None:
        errors.add(path, f"is required (seconds, {DURATION_MIN}-{DURATION_MAX})")
        return None
    if not _number_between(value, DURATION_MIN, DURATION_MAX):
        limits = f"must be a number of seconds from {DURATION_MIN} to {DURATION_MAX}"
        errors.add(path, f"{limits}, got {describe(value)}")
        return None
    return value


# --- Helpers for the pipeline ---------------------------------------------------------------


def _with_atmosphere(text, atmosphere):
    text = text.strip().rstrip(".")
    return (
        f"{text}. Atmosphere: {atmosphere.strip()}" if atmosphere and atmosphere.strip() else text
    )


def storyboard_asset_prompt(storyboard, asset):
    """The image prompt of an asset: its own prompt with the storyboard's atmosphere, so every
    image of a video shares one look."""
    return _with_atmosphere(asset["prompt"], storyboard.get("atmosphere") or "")


def storyboard_scene_prompt(storyboard, scene):
    """The clip prompt of a scene: its motion with the storyboard's atmosphere."""
    return _with_atmosphere(scene["motion"], storyboard.get("atmosphere") or "")


def storyboard_clip_seconds(scene):
    """The clip length to request for a scene: Kling makes 5 or 10 s clips, so a duration is
    rounded up to the next one (longer scenes get 10 s, stretched in assembly)."""
    return next(
        (length for length in CLIP_LENGTHS if scene["duration"] <= length), CLIP_LENGTHS[-1]
    )
