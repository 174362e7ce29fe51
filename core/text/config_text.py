"""The Django-free part of checking what people write: strict YAML, the wording of validation
errors, and the channel id pattern.

Shared by channel files (channels_app.config), storyboards (core.text.storyboard) and the writer
script (scripts/generate_storyboard.py), which validates a drafted storyboard without a database
or Django settings; so this module imports nothing from Django.
"""

import difflib
import re
from decimal import Decimal

import yaml

from core.text.input_bounds import MAX_DEPTH

CHANNEL_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


# --- YAML -----------------------------------------------------------------------------------


class StrictYamlLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key repeated inside one mapping (PyYAML keeps the last one
    silently), aliases (*name: they can expand a small file into a huge one) and mappings or
    lists nested deeper than MAX_DEPTH (building them recurses: a few hundred levels end in
    RecursionError), and reads an unquoted clock time such as 15:00 as the string "15:00"
    (YAML 1.1 reads it as the base-60 number 900)."""

    collection_depth = 0

    yaml_implicit_resolvers = {
        first: (
            [("tag:yaml.org,2002:str", re.compile(r"^\d{1,2}:\d{2}$"))] + resolvers
            if isinstance(first, str) and first in "0123456789"
            else list(resolvers)
        )
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                f"aliases (*{event.anchor}) are not supported here; write the value out",
                event.start_mark,
            )
        if not self.check_event(yaml.MappingStartEvent, yaml.SequenceStartEvent):
            return super().compose_node(parent, index)
        if self.collection_depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nested deeper than {MAX_DEPTH} levels of mappings and lists; flatten it",
                self.peek_event().start_mark,
            )
        self.collection_depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.collection_depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first on line {seen[key]}); keep only one",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def yaml_load(text):
    """Parse YAML text with StrictYamlLoader. Raises yaml.YAMLError; see yaml_error_message."""
    return yaml.load(text, Loader=StrictYamlLoader)  # noqa: S506 (a SafeLoader subclass)


def yaml_error_message(error):
    """'line 3, column 7: invalid YAML: <problem>' for a parse error, 1-based like editors."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    context_mark = getattr(error, "context_mark", None)
    if context and context_mark and context_mark.line != getattr(mark, "line", None):
        context = f"{context} that starts on line {context_mark.line + 1}"
    detail = f"{problem} ({context})" if context else problem
    if mark is None:
        return f"invalid YAML: {detail}"
    return f"line {mark.line + 1}, column {mark.column + 1}: invalid YAML: {detail}"


# --- Wording of errors ---------------------------------------------------------------------


def describe(value):
    """A value as the person wrote it in YAML, for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def did_you_mean(word, choices):
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def unknown_key_message(key, allowed):
    hint = did_you_mean(key, allowed)
    return f"unknown key; {hint}" if hint else f"unknown key; allowed keys: {', '.join(allowed)}"


def join_path(path, key):
    return f"{path}.{key}" if path else str(key)
