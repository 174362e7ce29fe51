"""The storyboard parser's building blocks (core/text/storyboard.py): a collector of problems, each
named by its path, and the checks every part of a storyboard shares. No Django set-up needed."""

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
