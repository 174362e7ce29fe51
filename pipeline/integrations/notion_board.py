"""A channel's Notion board: its data source, and its layout checked against what we need.

API 2025-09-03: a database is a container; its rows live in a data source. The channel's YAML
gives the database id; GET /v1/databases/{id} names its data sources and we use the first, cached
in NotionBoard.data_source_id.

What `--fix` can and cannot do through the API (data_sources.update):
- it adds missing properties (text, select, number, url) and missing select options (Priority);
- it cannot create a status property nor add, rename or reorder status options (Notion's API
  refuses "name or options values of a status property"); those are reported with the steps to
  do by hand;
- it does not change the type of an existing property: converting a column can lose the values
  in it, so the report says to change it in Notion (or rename it and let --fix add a new one).
"""

from dataclasses import dataclass, field

from django.utils import timezone

from channels_app.models import NotionBoard
from pipeline.integrations.notion_client import (
    NotionApi,
    NotionConfigError,
    NotionError,
    notion_id,
)
from pipeline.status import BOARD_COLUMNS

PRIORITY_OPTIONS = ("High", "Normal", "Low")
TYPE_NAMES = {
    "status": "Status",
    "select": "Select",
    "rich_text": "Text",
    "number": "Number",
    "url": "URL",
    "title": "Title",
}


@dataclass(frozen=True)
class PropertySpec:
    name: str
    type: str
    options: tuple = ()
    config: dict = field(default_factory=dict)

    def schema(self):
        if self.type == "select":
            return {"select": {"options": [{"name": name} for name in self.options]}}
        return {self.type: dict(self.config)}


LAYOUT = (
    PropertySpec("Status", "status", tuple(BOARD_COLUMNS)),
    PropertySpec("Channel", "select"),
    PropertySpec("Topic", "rich_text"),
    PropertySpec("Story Direction", "rich_text"),
    PropertySpec("Priority", "select", PRIORITY_OPTIONS),
    PropertySpec("Error Log", "rich_text"),
    PropertySpec("Task ID", "rich_text"),
    PropertySpec("Progress", "number", config={"format": "percent"}),
    PropertySpec("Cost", "number", config={"format": "dollar"}),
    PropertySpec("Review Link", "url"),
    PropertySpec("YouTube URL", "url"),
)
PUSHED_PROPERTIES = ("Status", "Task ID", "Progress", "Cost", "Error Log", "Review Link")


@dataclass
class BoardProblem:
    property: str
    kind: str  # missing, wrong_type, missing_options, options_order, no_title
    message: str
    fixable: bool
    missing_options: tuple = ()

    def __str__(self):
        return self.message


@dataclass
class BoardReport:
    channel_id: str
    data_source_id: str
    problems: list
    fixed: list = field(default_factory=list)  # messages of what --fix changed

    @property
    def ok(self):
        return not self.problems


def _quoted(names):
    return ", ".join(f"'{name}'" for name in names)


def board_layout_problems(properties):
    """Compare a data source's `properties` (as Notion returns them) with LAYOUT."""
    problems = []
    if not any(prop.get("type") == "title" for prop in properties.values()):
        problems.append(
            BoardProblem("Title", "no_title", "Title: the database has no title property", False)
        )
    for spec in LAYOUT:
        prop = properties.get(spec.name)
        expected = TYPE_NAMES[spec.type]
        if prop is None:
            if spec.type == "status":
                message = (
                    f"{spec.name}: missing; add a Status property named '{spec.name}' in Notion "
                    f"with the {len(spec.options)} options {_quoted(spec.options)} (the Notion "
                    "API cannot create status options)"
                )
            else:
                message = f"{spec.name}: missing; expected a {expected} property"
            problems.append(BoardProblem(spec.name, "missing", message, spec.type != "status"))
            continue
        if prop.get("type") != spec.type:
            found = TYPE_NAMES.get(prop.get("type"), prop.get("type"))
            problems.append(
                BoardProblem(
                    spec.name,
                    "wrong_type",
                    f"{spec.name}: is a {found} property, expected {expected}; change its type "
                    "in Notion, or rename it and run with --fix to add a new one (not changed "
                    "automatically: converting a column can lose its values)",
                    False,
                )
            )
            continue
        if spec.options:
            problems.extend(_option_problems(spec, prop))
    return problems


def _option_problems(spec, prop):
    present = [option["name"] for option in prop.get(spec.type, {}).get("options", [])]
    missing = tuple(name for name in spec.options if name not in present)
    if missing:
        if spec.type == "status":
            message = (
                f"{spec.name}: missing options {_quoted(missing)}; add them by hand in Notion "
                f"(open the '{spec.name}' property, '+' in a group), in board order: "
                f"{_quoted(spec.options)} (the Notion API cannot change status options)"
            )
        else:
            message = f"{spec.name}: missing options {_quoted(missing)}"
        return [
            BoardProblem(
                spec.name,
                "missing_options",
                message,
                spec.type != "status",
                missing_options=missing,
            )
        ]
    ours = [name for name in present if name in spec.options]
    if spec.type == "status" and ours != list(spec.options):
        return [
            BoardProblem(
                spec.name,
                "options_order",
                f"{spec.name}: options out of board order; drag them in Notion into this order: "
                f"{_quoted(spec.options)}",
                False,
            )
        ]
    return []


def _fix_payload(problems, properties):
    payload = {}
    for problem in problems:
        spec = next(s for s in LAYOUT if s.name == problem.property)
        if problem.kind == "missing" and problem.fixable:
            payload[spec.name] = spec.schema()
        elif problem.kind == "missing_options" and problem.fixable:
            existing = properties[spec.name][spec.type].get("options", [])
            kept = [{"id": option["id"]} if "id" in option else option for option in existing]
            added = [{"name": name} for name in problem.missing_options]
            payload[spec.name] = {spec.type: {"options": kept + added}}
    return payload


# --- Services ------------------------------------------------------------------------------------


def notion_board_for(channel):
    if not channel.notion_database_id:
        raise NotionConfigError(
            f"channel {channel.id}: no Notion database; set notion_database_id in "
            f"channel_configs/{channel.id}.yaml and run `manage.py sync_channels`"
        )
    board, _ = NotionBoard.objects.get_or_create(channel=channel)
    return board


def notion_database_id(channel):
    """The channel's database id in Notion's canonical form, however it was copied (without
    dashes, upper case, the whole URL)."""
    try:
        return notion_id(channel.notion_database_id)
    except NotionConfigError as error:
        raise NotionConfigError(
            f"channel_configs/{channel.id}.yaml: notion_database_id: {error}"
        ) from None


def notion_data_source_resolve(*, channel, api, refresh=False):
    """The data source id of the channel's database (cached on its NotionBoard)."""
    board = notion_board_for(channel)
    if board.data_source_id and not refresh:
        return board.data_source_id
    database_id = notion_database_id(channel)
    database = api.call(
        f"reading database {database_id}", api.client.databases.retrieve, database_id
    )
    sources = database.get("data_sources") or []
    if not sources:
        raise NotionError(
            f"channel {channel.id}: Notion database {database_id} has no data source; check "
            "notion_database_id in the channel's YAML (it must be a database, not a page)"
        )
    NotionBoard.objects.filter(pk=board.pk).update(
        data_source_id=sources[0]["id"], updated_at=timezone.now()
    )
    return sources[0]["id"]


def notion_board_check(*, channel, fix=False, api=None):
    """Check (and with fix=True repair what the API allows) the layout of a channel's board."""
    notion_board_for(channel)  # a missing database id is named before any token question
    api = api or NotionApi.for_channel(channel)
    data_source_id = notion_data_source_resolve(channel=channel, api=api, refresh=True)

    def read():
        source = api.call(
            f"reading data source {data_source_id}",
            api.client.data_sources.retrieve,
            data_source_id,
        )
        return source.get("properties", {})

    properties = read()
    problems = board_layout_problems(properties)
    report = BoardReport(channel.id, data_source_id, problems)
    payload = _fix_payload(problems, properties) if fix else {}
    if payload:
        api.call(
            f"adding properties to data source {data_source_id}",
            api.client.data_sources.update,
            data_source_id,
            properties=payload,
            sent=tuple(payload),
        )
        report.fixed = [p.message for p in problems if p.property in payload]
        report.problems = board_layout_problems(read())
    return report
