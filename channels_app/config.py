"""Channel configs: channel_configs/<channel_id>.yaml, read and checked against a schema written
in Python. Nothing here touches the database; channels_app.services.channel_sync_from_directory
writes what these functions return.

Every problem becomes one ConfigError naming the file, the field path and what is wrong:

    channel_configs/poke.yaml: budget.daily_usd: must be a positive number, got -5

A file is checked as a whole, so one run reports every problem in it, and one bad file does not
stop the others from being checked. Files whose name starts with "_" are templates and skipped.
"""

import copy
import hashlib
import math
import re
import zoneinfo
from dataclasses import dataclass
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from django.conf import settings

from channels_app.config_legacy import (
    current_form_hint,
    is_legacy_form,
    legacy_error,
    legacy_form_translate,
)
from channels_app.models import Priority, Privacy, Schedule
from core.providers import PROVIDERS, SHORTHANDS, providers_expand
from core.text import youtube_text_limits
from core.text.channel_brief import BRIEF_DEFAULTS, brief_validate
from core.text.config_text import (  # noqa: F401 (re-exported: config's public helpers)
    CHANNEL_ID_PATTERN,
    StrictYamlLoader,
    describe,
    did_you_mean,
    join_path,
    unknown_key_message,
    yaml_error_message,
    yaml_load,
)
from core.text.input_bounds import (
    MAX_CHANNEL_FILE_BYTES,
    MODEL_NAME_PATTERN,
    VOICE_ID_PATTERN,
    InputRefused,
    bounded_text,
    character_problem,
    value_problems,
)

CONFIG_SUFFIXES = (".yaml", ".yml")
REVIEW_GATES = ("assets", "video", "audio")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Key fragments that mark a credential. The YAML is version-controlled, so credentials live
# encrypted in the database instead (manage.py set_channel_secret).
CREDENTIAL_MARKERS = ("api_key", "apikey", "token", "secret", "password", "credential")
SECRET_HINT = (
    "credentials never go in channel YAML (it is version-controlled); remove this key and store "
    "the value encrypted with `python manage.py set_channel_secret {channel} <name>`"
)

_CHANNEL_ID = re.compile(CHANNEL_ID_PATTERN)
_NOTION_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_YOUTUBE_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_CLOCK_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_VOICE_ID = re.compile(VOICE_ID_PATTERN)
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


# --- Errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigError:
    file: str
    path: str
    message: str

    def __str__(self):
        return ": ".join(part for part in (self.file, self.path, self.message) if part)


class Invalid(Exception):
    """A field's value is wrong; the message says what and how to fix it. `problems` holds
    (subpath, message) pairs, the subpath (e.g. "[2]") extending the field's path."""

    def __init__(self, message="", subpath="", *, problems=None):
        self.problems = problems or [(subpath, message)]
        super().__init__("; ".join(problem for _, problem in self.problems))


# --- Field checks (each returns the normalized value or raises Invalid) ----------------------


def _string(value, *, max_length=200):
    if not isinstance(value, str):
        hint = " (YAML reads yes/no/on/off as true/false: put it in quotes)"
        raise Invalid(
            f"must be text, got {describe(value)}{hint if isinstance(value, bool) else ''}"
        )
    text = value.strip()
    if not text:
        raise Invalid("must not be empty")
    if problem := character_problem(text):
        raise Invalid(problem)
    if len(text) > max_length:
        raise Invalid(f"must be at most {max_length} characters, got {len(text)}")
    return text


def _boolean(value):
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false, got {describe(value)}")
    return value


def _choice(choices):
    def check(value):
        if value not in choices:
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            raise Invalid(
                f"must be one of {', '.join(choices)}; got {describe(value)}"
                + (f" ({hint})" if hint else "")
            )
        return value

    return check


def _channel_id(value):
    if not isinstance(value, str) or not _CHANNEL_ID.fullmatch(value):
        raise Invalid(
            f"{describe(value)} is not a valid channel id: use 1-63 lowercase letters, digits, "
            "'-' or '_', starting with a letter or digit (it names folders and the YAML file)"
        )
    return value


def _positive_money(value):
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise Invalid(f"must be a positive number, got {describe(value)}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as error:
        raise Invalid(f"must be a positive number, got {describe(value)}") from error
    if amount.as_tuple().exponent < -2:
        raise Invalid(f"must have at most 2 decimal places (whole cents), got {value}")
    if amount >= Decimal("100000000"):
        raise Invalid(f"must be less than 100000000, got {value}")
    return amount


def _pattern(pattern, what):
    """Text that fullmatches pattern (an id that goes into a URL or a command line)."""

    def check(value):
        text = _string(value)
        if not pattern.fullmatch(text):
            raise Invalid(f"must be {what}, got {describe(value)}")
        return text

    return check


_voice_id = _pattern(
    _VOICE_ID, "a voice id: 1-64 letters, digits, '_' or '-' (e.g. 21m00Tcm4TlvDq8ikWAM)"
)
_model_name = _pattern(
    _MODEL_NAME,
    "a model name: letters, digits, '.', '_' or '-', in at most 4 parts joined by '/', each "
    "starting with a letter or digit (e.g. kling/v2-1-standard, eleven_multilingual_v2)",
)


def _max_concurrent(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise Invalid(f"must be a whole number from 1 to 100, got {describe(value)}")
    return value


def _timezone(value):
    name = _string(value, max_length=64)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        hint = did_you_mean(name, sorted(zoneinfo.available_timezones()))
        raise Invalid(
            f"unknown time zone {name!r}; use an IANA name such as 'America/New_York' or 'UTC'"
            + (f" ({hint})" if hint else "")
        ) from error
    return name


def _clock_time(value):
    match = _CLOCK_TIME.match(value) if isinstance(value, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise Invalid(f'must be a time of day "HH:MM" (24-hour), got {describe(value)}')
    return time(int(match[1]), int(match[2]))


def _notion_database_id(value):
    if isinstance(value, str) and _NOTION_ID.match(value.replace("-", "")):
        return value.replace("-", "").lower()
    raise Invalid(
        f"must be a Notion database id (32 hexadecimal characters, dashes allowed; it is in the "
        f"database's URL), got {describe(value)}"
    )


def _youtube_channel_id(value):
    if isinstance(value, str) and _YOUTUBE_CHANNEL_ID.fullmatch(value):
        return value
    raise Invalid(
        f"must be a YouTube channel id ('UC' followed by 22 letters, digits, '-' or '_'; see "
        f"YouTube Studio > Settings > Channel > Advanced), got {describe(value)}"
    )


def _category_id(value):
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(text, str) and text.isdigit() and len(text) <= 10:
        return text
    raise Invalid(f'must be a YouTube category number such as "22", got {describe(value)}')


def _language(value):
    if isinstance(value, str) and _LANGUAGE.match(value) and len(value) <= 20:
        return value
    raise Invalid(f'must be a language code such as "en" or "pt-BR", got {describe(value)}')


def _list(value):
    if not isinstance(value, list):
        raise Invalid(f"must be a list, got {describe(value)}")
    return value


def _unique_choices(choices, *, what, extra_hint=None):
    """A list whose items come from choices; returned without repeats, in the order of choices."""

    def check(value):
        problems = []
        for index, item in enumerate(_list(value)):
            if isinstance(item, str) and item in (extra_hint or {}):
                problems.append((f"[{index}]", extra_hint[item]))
            elif item not in choices:
                hint = did_you_mean(item, choices) if isinstance(item, str) else ""
                problems.append(
                    (
                        f"[{index}]",
                        f"unknown {what} {describe(item)}; choose from {', '.join(choices)}"
                        + (f" ({hint})" if hint else ""),
                    )
                )
        if problems:
            raise Invalid(problems=problems)
        return [choice for choice in choices if choice in value]

    return check


def _tags(value):
    tags = []
    for index, item in enumerate(_list(value)):
        if not isinstance(item, str) or not item.strip():
            raise Invalid(f"each tag must be non-empty text, got {describe(item)}", f"[{index}]")
        tags.append(item.strip())
    problems = youtube_text_limits.tags_problems(tags)
    if problems:
        raise Invalid(problems=[("", problem) for problem in problems])
    return tags


def _brief(value):
    brief, problems = brief_validate(value)
    if problems:
        raise Invalid(problems=problems)
    return brief


def _number_from(low, high):
    def check(value):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise Invalid(f"must be a number from {low:g} to {high:g}, got {describe(value)}")
        return float(value)

    return check


def _clip_duration(value):
    if isinstance(value, bool) or value not in (5, 10):
        raise Invalid(
            f"must be 5 or 10 (seconds; the clip lengths Kling makes), got {describe(value)}"
        )
    return int(value)


# --- The schema -----------------------------------------------------------------------------

REQUIRED = object()


@dataclass(frozen=True)
class Field:
    check: object = None  # value -> normalized value, raises Invalid
    default: object = REQUIRED
    fields: dict | None = None  # a nested mapping with its own schema
    example: str = ""


BUDGET_FIELDS = {
    "daily_usd": Field(_positive_money, example="daily_usd: 25"),
    "weekly_usd": Field(_positive_money, example="weekly_usd: 150"),
    # One video's expected cost: a video costing more raises a WARNING (design: $6-13 a video).
    "per_video_usd": Field(_positive_money, default=Decimal("13")),
}
# ElevenLabs text-to-speech settings (scripts/generate_audio.py); unset ones keep its defaults.
NARRATION_FIELDS = {
    "model": Field(_model_name, default=None),
    "stability": Field(_number_from(0, 1), default=None),
    "similarity": Field(_number_from(0, 1), default=None),
    "style": Field(_number_from(0, 1), default=None),
    "speed": Field(_number_from(0.7, 1.2), default=None),
}
# Kling clip settings (scripts/generate_video.py); unset ones keep its defaults.
CLIP_FIELDS = {
    "duration": Field(_clip_duration, default=None),
    "negative_prompt": Field(lambda value: _string(value, max_length=500), default=None),
    "cfg_scale": Field(_number_from(0, 1), default=None),
}
def _common_choices(families):
    return [name for name in PROVIDERS[families[0]] if all(name in PROVIDERS[f] for f in families)]


# A family per provider choice (core/providers.py), and the older shorthands (`voice:` names
# narration and sound effects at once) with what their families have in common.
PROVIDER_FIELDS = {
    **{family: Field(_choice(choices), default=None) for family, choices in PROVIDERS.items()},
    **{
        shorthand: Field(_choice(_common_choices(families)), default=None)
        for shorthand, families in SHORTHANDS.items()
    },
}
CHANNEL_FIELDS = {
    "id": Field(_channel_id, example="id: <the file name without .yaml>"),
    "name": Field(_string, example='name: "My Channel"'),
    "is_active": Field(_boolean, default=True),
    "schedule": Field(_choice(Schedule.values), default=Schedule.MANUAL.value),
    "publish_days": Field(_unique_choices(WEEKDAYS, what="day"), default=[]),
    "timezone": Field(_timezone, default="UTC"),
    "publish_time": Field(_clock_time, default=None),
    "notion_database_id": Field(_notion_database_id, default=""),
    "youtube_channel_id": Field(_youtube_channel_id, default=""),
    "quota_project": Field(lambda value: _string(value, max_length=100), default="default"),
    "budget": Field(fields=BUDGET_FIELDS, example="budget: {daily_usd: 25, weekly_usd: 150}"),
    "review_gates": Field(
        _unique_choices(
            REVIEW_GATES,
            what="review gate",
            extra_hint={
                "final": "'final' is always on for every video and cannot be listed; "
                "list only the optional gates assets, video, audio"
            },
        ),
        default=[],
    ),
    "providers": Field(fields=PROVIDER_FIELDS, default={}),
    "video_model": Field(_model_name, default=None),
    "voice_id": Field(_voice_id, default=""),
    "priority": Field(_choice(Priority.values), default=Priority.NORMAL.value),
    "max_concurrent": Field(_max_concurrent, default=2),
    "privacy": Field(_choice(Privacy.values), default=Privacy.PRIVATE.value),
    "made_for_kids": Field(_boolean, default=False),
    "category_id": Field(_category_id, default="22"),
    "default_language": Field(_language, default="en"),
    "tags": Field(_tags, default=[]),
    "brief": Field(_brief, default=BRIEF_DEFAULTS),
    "narration": Field(fields=NARRATION_FIELDS, default={}),
    "clips": Field(fields=CLIP_FIELDS, default={}),
}
DEFAULT_VIDEO_MODEL = "kling/v2-1-standard"
# When a daily or weekly channel publishes if its file names no time (the architecture's example
# file names none); sync_channels says so for each such file.
DEFAULT_PUBLISH_TIME = time(15, 0)


def _validate_mapping(data, schema, path, errors):
    """Check data against schema, appending (path, message) to errors; return the normalized
    mapping (fields that failed are left out)."""
    if not isinstance(data, dict):
        errors.append((path, f"must be a mapping of fields (key: value), got {describe(data)}"))
        return {}
    for key in data:
        if key not in schema and not _is_credential_key(key):
            errors.append((join_path(path, key), unknown_key_message(key, list(schema))))
    result = {}
    for name, field in schema.items():
        field_path = join_path(path, name)
        value = data.get(name)
        if value is None:
            if field.default is REQUIRED:
                example = f" (e.g. {field.example})" if field.example else ""
                errors.append((field_path, f"is required{example}"))
            elif field.fields is not None:
                result[name] = _validate_mapping({}, field.fields, field_path, errors)
            else:
                result[name] = copy.deepcopy(field.default)
        elif field.fields is not None:
            result[name] = _validate_mapping(value, field.fields, field_path, errors)
        else:
            try:
                result[name] = field.check(value)
            except Invalid as error:
                errors.extend((field_path + sub, message) for sub, message in error.problems)
    return result


def _is_credential_key(key):
    normalized = str(key).lower().replace("-", "_")
    return any(marker in normalized for marker in CREDENTIAL_MARKERS)


def _credential_paths(data, path=""):
    """Every key, at any depth, that looks like a credential."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            key_path = join_path(path, key)
            if _is_credential_key(key):
                found.append(key_path)
            found.extend(_credential_paths(value, key_path))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(_credential_paths(item, f"{path}[{index}]"))
    return found


def _cross_field_errors(config, stem):
    errors = []
    channel_id = config.get("id")
    if channel_id and channel_id != stem:
        errors.append(
            (
                "id",
                f"{channel_id!r} does not match the file name {stem!r}; the file must be named "
                f"{channel_id}.yaml (or set id: {stem})",
            )
        )
    budget = config.get("budget", {})
    daily, weekly = budget.get("daily_usd"), budget.get("weekly_usd")
    if daily is not None and weekly is not None and weekly < daily:
        errors.append(
            ("budget.weekly_usd", f"must be at least budget.daily_usd ({daily}), got {weekly}")
        )
    schedule = config.get("schedule")
    if schedule == Schedule.WEEKLY and "publish_days" in config and not config["publish_days"]:
        errors.append(("publish_days", "is required when schedule is weekly (e.g. [mon, thu])"))
    if schedule in (Schedule.DAILY, Schedule.MANUAL) and config.get("publish_days"):
        errors.append(
            ("publish_days", f"is only used with schedule: weekly (schedule is {schedule})")
        )
    return errors


def _publish_time_default(config):
    if config.get("schedule") in (Schedule.DAILY, Schedule.WEEKLY) and "publish_time" in config:
        if config["publish_time"] is None:
            config["publish_time"] = DEFAULT_PUBLISH_TIME


def schedule_defaults_note(data, fields):
    """For a daily or weekly channel whose file leaves out publish_time or timezone, the sentence
    that says when it publishes and that this comes from the defaults; "" otherwise."""
    if fields["schedule"] not in (Schedule.DAILY, Schedule.WEEKLY):
        return ""
    written = legacy_form_translate(data)[0] if is_legacy_form(data) else data
    unset = [key for key in ("publish_time", "timezone") if written.get(key) is None]
    if not unset:
        return ""
    return (
        f"publishes {fields['schedule']} at {fields['publish_time']:%H:%M} {fields['timezone']}: "
        f"{' and '.join(unset)} not set, so the default (publish_time "
        f"{DEFAULT_PUBLISH_TIME:%H:%M}, timezone UTC); set {' and '.join(unset)} in the file to "
        "choose"
    )


def channel_config_validate(data, *, file, stem):
    """Check one parsed channel config. Returns (model_fields, errors): model_fields maps onto
    channels_app.models.Channel (None when there are errors), errors is a list of ConfigError."""
    if data is None:
        message = "the file is empty; copy _example.yaml from the same folder to start"
        return None, [ConfigError(file, "", message)]
    if not isinstance(data, dict):
        message = f"the file must be a mapping of fields (name: value), got {describe(data)}"
        return None, [ConfigError(file, "", message)]
    # Before any field is read: a NUL, a NaN or a too-deep value would fail later, far away.
    unreadable = value_problems(data)
    if unreadable:
        return None, [ConfigError(file, path, message) for path, message in unreadable]
    raw_errors = []
    channel = _claimed_id(data)
    channel = channel if isinstance(channel, str) else stem
    for path in _credential_paths(data):
        raw_errors.append((path, SECRET_HINT.format(channel=channel)))
    legacy_errors, renames = [], None
    if is_legacy_form(data):
        data, legacy_errors, renames = legacy_form_translate(data)
    config = _validate_mapping(data, CHANNEL_FIELDS, "", raw_errors)
    raw_errors.extend(_cross_field_errors(config, stem))
    _publish_time_default(config)
    if renames is not None:
        # a derived weekly budget repeats a bad daily one's error: report it once
        reworded = [legacy_error(*error, renames) for error in raw_errors]
        raw_errors = list(dict.fromkeys(legacy_errors + reworded))
    errors = [ConfigError(file, path, message) for path, message in raw_errors]
    if errors:
        return None, errors
    return _model_fields(config), []


def _claimed_id(data):
    """The channel id a parsed file claims, in either form."""
    return data.get("id", data.get("channel_id")) if isinstance(data, dict) else None


def channel_config_current_form(data):
    """For a file in the older form, the same config in the current form (YAML text) to paste
    over it; "" for a file already in the current form."""
    return current_form_hint(legacy_form_translate(data)[0]) if is_legacy_form(data) else ""


def _model_fields(config):
    fields = {key: value for key, value in config.items() if key not in ("budget", "providers")}
    fields["budget_daily_usd"] = config["budget"]["daily_usd"]
    fields["budget_weekly_usd"] = config["budget"]["weekly_usd"]
    fields["budget_per_video_usd"] = config["budget"]["per_video_usd"]
    # Only the providers the file names: for the others the pipeline uses VIDEOGEN_PROVIDER when
    # set, else the real service, so one environment variable can rehearse every channel offline.
    fields["providers"] = providers_expand(
        {key: value for key, value in config["providers"].items() if value}
    )
    fields["video_model"] = config["video_model"] or DEFAULT_VIDEO_MODEL
    return fields


# --- Files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelConfig:
    """One valid channel config file."""

    file: str  # as shown to people and stored in Channel.config_file
    sha256: str
    fields: dict  # keyword arguments for channels_app.models.Channel
    current_form: str = ""  # the file in the current form, when it uses the older one
    defaults_note: str = ""  # when it publishes, if the file leaves that to the defaults


def display_path(path):
    """A path relative to the project folder when inside it (channel_configs/poke.yaml)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


def channel_config_read(path):
    """Read and check one file. Returns (ChannelConfig | None, errors, raw_id): raw_id is the id
    the file claims, even when the file is otherwise invalid (for duplicate detection)."""
    path = Path(path)
    file = display_path(path)
    if path.is_symlink():
        # Never followed: its target (any file the process can read) would be printed in errors.
        message = (
            "is a symbolic link; channel files must be regular files in the folder (copy the "
            "file here instead of linking it)"
        )
        return None, [ConfigError(file, "", message)], None
    try:
        content = path.read_bytes()
    except OSError as error:
        return None, [ConfigError(file, "", f"cannot read the file: {error.strerror}")], None
    try:
        data = yaml_load(bounded_text(content, max_bytes=MAX_CHANNEL_FILE_BYTES, what="the file"))
    except InputRefused as error:
        return None, [ConfigError(file, "", str(error))], None
    except yaml.YAMLError as error:
        return None, [ConfigError(file, "", yaml_error_message(error))], None
    raw_id = _claimed_id(data)
    fields, errors = channel_config_validate(data, file=file, stem=path.stem)
    if errors:
        return None, errors, raw_id
    digest = hashlib.sha256(content).hexdigest()
    config = ChannelConfig(
        file=file,
        sha256=digest,
        fields=fields,
        current_form=channel_config_current_form(data),
        defaults_note=schedule_defaults_note(data, fields),
    )
    return config, [], raw_id


def channel_config_files(config_dir):
    """The config files of a folder, templates ("_" prefix) left out, sorted by name. Symbolic
    links are listed, so that reading them reports them instead of skipping them silently."""
    return sorted(
        path
        for path in Path(config_dir).iterdir()
        if (path.is_symlink() or path.is_file())
        and path.suffix in CONFIG_SUFFIXES
        and not path.name.startswith("_")
    )


@dataclass
class DirectoryConfigs:
    configs: list  # ChannelConfig, valid files only
    errors: list  # ConfigError
    claimed_ids: set  # every id a file in the folder stands for, valid or not


def channel_configs_load_directory(config_dir):
    """Read every config file in config_dir; a bad file is reported and the others still read."""
    config_dir = Path(config_dir)
    if not config_dir.is_dir():
        message = "is not a folder; pass --config-dir or set CHANNEL_CONFIG_DIR"
        return DirectoryConfigs([], [ConfigError(display_path(config_dir), "", message)], set())
    results, errors, claimed = [], [], set()
    for path in channel_config_files(config_dir):
        config, file_errors, raw_id = channel_config_read(path)
        errors.extend(file_errors)
        claimed.add(path.stem)
        if isinstance(raw_id, str):
            claimed.add(raw_id)
        results.append((display_path(path), config, raw_id))
    duplicate_errors, duplicate_files = _duplicate_ids(results)
    errors.extend(duplicate_errors)
    configs = [config for file, config, _ in results if config and file not in duplicate_files]
    return DirectoryConfigs(configs, errors, claimed)


def _duplicate_ids(results):
    """Files that claim the same channel id (ignoring case, as some file systems do)."""
    files_by_id = {}
    for file, _, raw_id in results:
        if isinstance(raw_id, str):
            files_by_id.setdefault(raw_id.lower(), []).append((file, raw_id))
    errors, files = [], set()
    for claims in files_by_id.values():
        if len(claims) < 2:
            continue
        for file, raw_id in claims:
            others = ", ".join(other for other, _ in claims if other != file)
            message = (
                f"channel id {raw_id!r} is also used by {others}; each channel needs its own "
                "id (ids are compared ignoring case); rename or remove one of the files"
            )
            errors.append(ConfigError(file, "id", message))
            files.add(file)
    return errors, files
