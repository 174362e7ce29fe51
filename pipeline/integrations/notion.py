"""The Notion board (one per channel, a card per task), split by concern:

- notion_client: notion-client 3.x behind the shared rate limit (ratelimit), retries, errors;
- notion_board: the data source of a channel's database, the board layout check and fixer;
- notion_push: coalesced pushes of each task's latest values to its card;
- notion_intake: polling, cards becoming tasks, cards moved by hand moved back;
- notion_tasks: the thin Celery tasks.

This module gathers the entry points other code uses.
"""

from pipeline.integrations.notion_board import notion_board_check, notion_data_source_resolve
from pipeline.integrations.notion_client import NotionApi, NotionError
from pipeline.integrations.notion_intake import notion_poll_channel
from pipeline.integrations.notion_push import (
    notion_push,
    notion_push_pending,
    notion_push_request,
    on_task_changed_listener,
)

__all__ = [
    "NotionApi",
    "NotionError",
    "notion_board_check",
    "notion_data_source_resolve",
    "notion_poll_channel",
    "notion_push",
    "notion_push_pending",
    "notion_push_request",
    "on_task_changed_listener",
]
