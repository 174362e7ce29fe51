"""A card's storyboard lives in its body: the first code block whose language is YAML (what an
operator pastes into and reads back on the card). Reading it (intake, queueing from the card) and
writing a drafted one into it (a Draft card with a Topic gets the writer's storyboard in its
body, and stays in Draft).

The write rides the card's push (notion_push), so it is retried like any push, and a lost message
is covered by the push sweep. It is idempotent: a body that already has a YAML block (written
before, or the person's own) is left alone, so the draft is written at most once per card and
never over a person's edits.
"""

import structlog
import yaml

from pipeline import paths
from pipeline.integrations.notion_client import (
    RICH_TEXT_CHUNK,
    RICH_TEXT_MAX_CHUNKS,
    plain_text,
    utf16_length,
)
from pipeline.status import Status

log = structlog.get_logger(__name__)

YAML_LANGUAGES = ("yaml", "yml")


def yaml_block_text(api, page_id):
    """The text of the page body's first YAML code block, or None when it has none."""
    blocks = api.paginate(
        f"reading the body of page {page_id}", api.client.blocks.children.list, page_id
    )
    for block in blocks:
        code = block.get("code") if block.get("type") == "code" else None
        if code and code.get("language", "").lower() in YAML_LANGUAGES:
            return plain_text(code.get("rich_text", []))
    return None


def _code_rich_text(text):
    """Code block text as rich-text objects of at most 2,000 UTF-16 units each, split only at
    line ends where a line allows it (Notion joins them back into one text)."""
    chunks, current = [], ""
    for line in text.splitlines(keepends=True):
        if utf16_length(current + line) <= RICH_TEXT_CHUNK:
            current += line
            continue
        if current:
            chunks.append(current)
        while utf16_length(line) > RICH_TEXT_CHUNK:  # one very long line: split inside it
            cut = RICH_TEXT_CHUNK
            while utf16_length(line[:cut]) > RICH_TEXT_CHUNK:
                cut -= 1
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        chunks.append(current)
    return [{"type": "text", "text": {"content": chunk}} for chunk in chunks]


def drafted_storyboard_text(task):
    """The drafted storyboard as YAML: the writer's file (commented, defaults left out) when it
    is in the workspace, else the task's storyboard."""
    path = paths.draft_storyboard(task.channel_id, str(task.pk))
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return yaml.safe_dump(task.storyboard, sort_keys=False, allow_unicode=True, width=100)


def notion_draft_write(task, api):
    """Write a drafted task's storyboard into its card's body as a ```yaml code block, once.
    Returns True when written. Only for drafts (a task the writer drafted, still in Draft)."""
    if (
        not task.notion_page_id
        or task.status != Status.DRAFT
        or not task.storyboard
        or not task.topic
        or task.cancelled_at
    ):
        return False
    page_id = task.notion_page_id
    if yaml_block_text(api, page_id) is not None:
        return False
    text = drafted_storyboard_text(task)
    chunks = _code_rich_text(text)
    if len(chunks) > RICH_TEXT_MAX_CHUNKS:
        log.warning("notion_draft_too_long", task_id=str(task.pk), characters=len(text))
        return False
    block = {"type": "code", "code": {"language": "yaml", "rich_text": chunks, "caption": []}}
    api.call(
        f"writing the drafted storyboard into page {page_id} of task {task.pk}",
        api.client.blocks.children.append,
        block_id=page_id,
        children=[block],
        idempotent=False,  # a retried append after a lost answer could add a second block
    )
    log.info("notion_draft_written", task_id=str(task.pk), page_id=page_id)
    return True
