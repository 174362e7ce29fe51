"""The storyboard parser's building blocks (core/text/storyboard.py): a collector of problems, each
named by its path, and the checks every part of a storyboard shares. No Django set-up needed."""

import re

from core.text.config_text import (
    describe,
    join_path,
    unknown_key_message,
)
from core.text.ids import SAFE_ID
from core.text.input_bounds import TEXT_MAX_DEFAULT, text_problem


class StoryboardInvalid(ValueError):
    """`errors` lists every problem as "<source>: <path>: <message>"."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class Errors:
    """Collects (path, message) problems of one storyboard."""

    def __init__(self, source):
        self.source = source
        self.items = []

    def add(self, path, message):
        self.items.append(
            f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}"
        )

    def raise_if_any(self):
        if self.items:
            raise StoryboardInvalid(self.items)


def unknown_keys(mapping, allowed, path, errors):
    for key in mapping:
        if key not in allowed:
            errors.add(join_path(path, key), unknown_key_message(key, allowed))


def as_mapping(value, path, what, errors):
    if isinstance(value, dict):
        return value
    errors.add(path, f"must be a mapping ({what}), got {describe(value)}")
    return None


def required_text(value, path, errors, *, what="text", max_length=TEXT_MAX_DEFAULT):
    """Non-empty text, stripped, within max_length; None (after reporting) otherwise."""
    if value is None:
        errors.add(path, f"is required ({what})")
    elif not isinstance(value, str):
        errors.add(path, f"must be text ({what}), got {describe(value)}")
    elif not value.strip():
        errors.add(path, f"must not be empty ({what})")
    elif problem := text_problem(value.strip(), max_length):
        errors.add(path, problem)
    else:
        return value.strip()
    return None


def optional_text(value, path, errors, *, max_length=TEXT_MAX_DEFAULT):
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(path, f"must be text, got {describe(value)}")
        return ""
    if problem := text_problem(value.strip(), max_length):
        errors.add(path, problem)
        return ""
    return value.strip()


def safe_id(value, path, errors):
    if value is None:
        errors.add(path, "is required (a short id such as 'forest' or 's01')")
    elif not isinstance(value, str) or not SAFE_ID.fullmatch(value):
        errors.add(
            path,
            f"{describe(value)} is not a valid id: use 1-64 letters, digits, '-' or '_', starting "
            "with a letter or digit (ids become file names; no '/', '.', or spaces)",
        )
    else:
        return value
    return None


def unique_ids(items, what, path, errors):
    """Ids are file names, and some file systems ignore case: 'Forest' and 'forest' collide."""
    first_index = {}
    for index, item in enumerate(items):
        item_id = item.get("id")
        if not item_id:
            continue
        key = item_id.lower()
        if key in first_index:
            errors.add(
                f"{path}[{index}].id",
                f"duplicate {what} id {item_id!r} (already used by {path}[{first_index[key]}]; "
                "ids must be unique, ignoring case)",
            )
        else:
            first_index[key] = index


def as_list(value, path, what, errors, *, maximum):
    if value is None:
        errors.add(path, f"is required (a list of {what})")
    elif not isinstance(value, list):
        errors.add(path, f"must be a list of {what}, got {describe(value)}")
    elif not value:
        errors.add(path, f"must not be empty (a list of {what})")
    elif len(value) > maximum:
        errors.add(path, f"has {len(value)} {what}; at most {maximum} are allowed")
    else:
        return value
    return []


# --- Top level ------------------------------------------------------------------------------


# Optional keys, kept only when given (a storyboard without them stays exactly as it was): the
# captions' language (else the channel's default_language), the music track by file name in the
# channel's music folder (else one is chosen per video), a scene's chapter title.
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
SCENE_TITLE_MAX = 80


def optional_keys(item, path, errors, keys):
    """{key: checked value} of the optional `keys` present in `item`."""
    found = {}
    for key in keys:
        value, where = item.get(key), f"{path}.{key}" if path else key
        if value is None:
            continue
        if key == "language":
            if not isinstance(value, str) or not LANGUAGE_PATTERN.fullmatch(value.strip()):
                errors.add(where, f'must be a language code such as "en" or "pt-BR", got '
                           f"{describe(value)}")  # fmt: skip
                continue
            found[key] = value.strip()
            continue
        text = optional_text(value, where, errors, max_length=200 if key == "music" else
                             SCENE_TITLE_MAX)  # fmt: skip
        if key == "music" and text and ("/" in text or "\\" in text or text.startswith(".")):
            errors.add(where, f"must be a file name in the channel's music folder, got {text!r}")
        elif text:
            found[key] = text
    return found
