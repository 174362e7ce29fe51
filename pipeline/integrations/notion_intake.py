"""Reading a channel's board: new cards become tasks, cards moved by hand are moved back.

Poll (beat, every NOTION_POLL_SECONDS, one message per channel): query the data source for pages
edited on or after the board's cursor, oldest first, every result page. Handling a card is
idempotent, so a card seen twice (two pollers at once, the boundary minute) changes nothing the
second time. See `poll_cursor_after` for how the cursor moves and why no edit is missed.

Storyboard source: the first code block in the page body whose language
is YAML (blocks.children.list on the page). A block is what an operator pastes a storyboard into
and reads back on the card; a file property would need a download from Notion's expiring file
URLs and a second round trip.

What a card means:
- Queued, no Task ID, no task of ours: intake. A valid storyboard becomes exactly one task
  (created under a row lock on the channel's NotionBoard, after checking no task holds the page
  id, so two racing pollers cannot both create it). An invalid one is moved back to Draft with the
  validation errors in Error Log, and no task.
- A card of one of our tasks whose column differs from the task's status: if it shows what we last
  pushed, a push is simply due (it is requested). Otherwise it was moved by hand: the database
  wins, the card is moved back with the reason in Error Log. Moving a card to Draft cancels
  nothing; it is moved back and says how to cancel.
- A card of one of our drafts moved to Queued by hand: the person queued it (task_queue, the one
  place that does). A draft that cannot be queued (no valid storyboard) goes back to Draft with
  the reason in Error Log.
- A card of ours moved by a person to Approved (from Final Review) or to Queued (from an error
  column): an approval or a retry when the person is mapped to a user allowed to do it, else moved
  back with the reason (notion_actions).
- Anything else (Draft cards, old cards without a Task ID in other columns): left alone."""

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass, field

import structlog
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from channels_app.models import Channel, NotionBoard, NotionPush, Priority
from core.text.storyboard import StoryboardInvalid, storyboard_parse
from pipeline.integrations.notion_actions import DONE, notion_card_act
from pipeline.integrations.notion_board import notion_board_for, notion_data_source_resolve
from pipeline.integrations.notion_client import (
    NotionApi,
    NotionError,
    NotionUnavailable,
    plain_text,
    quoted_title,
    rich_text,
    status_name,
)
from pipeline.integrations.notion_drafts import yaml_block_text
from pipeline.integrations.notion_push import card_error_log, notion_push_request, review_link
from pipeline.models import VideoTask
from pipeline.status import Status, board_column

log = structlog.get_logger(__name__)

CURSOR_MARGIN = dt.timedelta(minutes=1)  # our clock against Notion's, and its index lag
QUEUED = board_column(Status.QUEUED)
DRAFT = board_column(Status.DRAFT)
PRIORITIES = {choice.label: choice.value for choice in Priority}


@dataclass
class PollResult:
    channel_id: str
    seen: int = 0
    created: list = field(default_factory=list)  # task ids
    queued: list = field(default_factory=list)  # task ids of drafts queued from their card
    invalid: list = field(default_factory=list)  # page ids
    moved_back: list = field(default_factory=list)  # page ids
    acted: list = field(default_factory=list)  # page ids approved or retried from the board
    drafting: list = field(default_factory=list)  # task ids of Draft cards the writer drafts
    errors: list = field(default_factory=list)


def notion_poll_channel(*, channel_id, api=None):
    channel = Channel.objects.get(pk=channel_id)
    board = notion_board_for(channel)
    api = api or NotionApi.for_channel(channel)
    data_source_id = notion_data_source_resolve(channel=channel, api=api)
    started = _now()
    query = {"sorts": [{"timestamp": "last_edited_time", "direction": "ascending"}]}
    if board.poll_cursor:
        since = board.poll_cursor.astimezone(dt.UTC)
        query["filter"] = {
            "timestamp": "last_edited_time",
            "last_edited_time": {"on_or_after": since.strftime("%Y-%m-%dT%H:%M:%S.000Z")},
        }
    result = PollResult(channel.id)
    seen, retry_from = set(), None
    pages = api.paginate(
        f"querying data source {data_source_id}",
        api.client.data_sources.query,
        data_source_id,
        **query,
    )
    for page in pages:
        if page["id"] in seen:
            continue
        seen.add(page["id"])
        edited = parse_datetime(page["last_edited_time"])
        try:
            _card_handle(channel, api, page, result)
        except Exception as error:  # noqa: BLE001 (one card never stops its board)
            if _card_failed(api, page, error, result):
                retry_from = min(retry_from or edited, edited)
    result.seen = len(seen)
    cursor = poll_cursor_after(started, retry_from=retry_from)
    if cursor:
        NotionBoard.objects.filter(pk=board.pk).filter(
            Q(poll_cursor__isnull=True) | Q(poll_cursor__lt=cursor)
        ).update(poll_cursor=cursor)
    NotionBoard.objects.filter(pk=board.pk).update(
        last_polled_at=timezone.now(), last_error="\n".join(result.errors)[:5000]
    )
    return result


def _now():
    return timezone.now()


def _card_failed(api, page, error, result):
    """True when Notion or the database was unavailable: the next poll reads the card again. Else
    it is said once on the card (our edit makes it "edited" again) and the cursor moves on."""
    temporary = isinstance(error, NotionUnavailable | OperationalError | InterfaceError)
    if temporary or isinstance(error, NotionError):
        result.errors.append(str(error))
        log.warning("notion_card_failed", page_id=page["id"], error=str(error))
        return temporary
    text = f"{type(error).__name__}: {error}"[:500]
    log.exception("notion_card_crashed", page_id=page["id"])
    result.errors.append(f"page {page['id']}: {text}")
    message = f"Not handled: an unexpected error ({text}); the card was left as it is."
    if plain_text(page.get("properties", {}).get("Error Log")).strip() != message:
        properties = {"Error Log": {"rich_text": rich_text(message)}}
        with contextlib.suppress(NotionError):  # the failure is in the poll's errors already
            api.page_update(page["id"], properties, what=f"reporting page {page['id']}'s error")
    return False


def poll_cursor_after(started, *, retry_from=None):
    """Where the next poll of a board starts (its `on_or_after` filter), after a poll that began
    at `started` (our clock) and read every result page; None leaves the cursor where it is.

    Why no edit is ever missed. Notion stamps an edit made at time e with last_edited_time =
    e rounded down to the minute, so an edit's stamp is never later than the edit. A poll's query
    is answered after `started`: every edit made before then was in its answer, except what
    Notion's clock (skew against ours) or its query index (a short lag) had not shown yet; both
    are well under CURSOR_MARGIN. So every edit not yet seen was made at or after
    started - CURSOR_MARGIN, and its stamp is at or after that moment rounded down to the minute:
    the next poll asks for exactly that. A card whose handling failed for a passing reason holds
    the cursor at its own stamp, so it is read again. An incomplete poll (a result page failed)
    raises before this and the cursor does not move.

    Why a quiet board costs one request. The cursor follows the clock, not the cards: once a
    minute (plus the margin) has passed since the last edit, the cursor is past every stamp on the
    board and a poll's query answers an empty first page, however many cards share a minute. The
    old rule (newest stamp seen, minus a minute of overlap) stayed behind the newest card forever,
    so a board bulk-edited in one minute was re-read in full by every poll."""
    after = (started - CURSOR_MARGIN).astimezone(dt.UTC).replace(second=0, microsecond=0)
    if retry_from is not None:
        after = min(after, retry_from)
    return after


def _task_for_card(channel, page, task_id_text):
    task = VideoTask.objects.filter(channel=channel, notion_page_id=page["id"]).first()
    if task is None and task_id_text:
        try:
            task = VideoTask.objects.filter(channel=channel, pk=uuid.UUID(task_id_text)).first()
        except ValueError:
            return None
    return task


def _card_handle(channel, api, page, result):
    if page.get("archived") or page.get("in_trash"):
        return
    properties = page.get("properties", {})
    column = status_name(properties.get("Status"))
    task_id_text = plain_text(properties.get("Task ID")).strip()
    task = _task_for_card(channel, page, task_id_text)
    if task is not None:
        if column == QUEUED and task.status == Status.DRAFT and not task.cancelled_at:
            if _draft_queue(api, task, page):
                result.queued.append(str(task.pk))
            else:
                result.moved_back.append(page["id"])
        elif (acted := notion_card_act(api, task, page, column)) is not None:
            (result.acted if acted == DONE else result.moved_back).append(page["id"])
        elif _drift_correct(api, task, page, column):
            result.moved_back.append(page["id"])
    elif column == QUEUED and not task_id_text:
        task_id = _intake(channel, api, page)
        if task_id:
            result.created.append(task_id)
        elif task_id is None:
            result.invalid.append(page["id"])
    elif column == DRAFT and not task_id_text and plain_text(properties.get("Topic")).strip():
        task_id = _draft_intake(channel, api, page)
        if task_id:
            result.drafting.append(task_id)


# --- Intake --------------------------------------------------------------------------------------


def _title(properties):
    return next(
        (plain_text(p) for p in properties.values() if p.get("type") == "title"), ""
    ).strip()


_yaml_block = yaml_block_text  # the first YAML code block of a page's body (notion_drafts)


def _card_storyboard(channel, text, source):
    """A card's storyboard, validated, and on this channel's board."""
    storyboard = storyboard_parse(text, source=source)
    if storyboard.get("channel") and storyboard["channel"] != channel.id:
        raise StoryboardInvalid(
            [
                f"{source}: channel: the storyboard names channel '{storyboard['channel']}' "
                f"but the card is on the board of '{channel.id}'; fix one of them"
            ]
        )
    return storyboard


def _storyboard_text(api, page_id, source):
    text = _yaml_block(api, page_id)
    if text is not None:
        return text
    raise StoryboardInvalid(
        [
            f"{source}: no storyboard: add a code block with language YAML to the page body "
            "holding the storyboard (title, assets, scenes)"
        ]
    )


def _intake(channel, api, page):
    """A Queued card without a task: returns the new task id, "" when another poller made it,
    None when the card was refused (its Error Log says why)."""
    from pipeline.services import PipelineError, video_task_create

    properties = page["properties"]
    source = f"Notion card '{quoted_title(_title(properties)) or page['id']}'"
    try:
        storyboard = _card_storyboard(
            channel, _storyboard_text(api, page["id"], source), source=source
        )
    except StoryboardInvalid as invalid:
        _card_refuse(api, page, invalid.errors)
        return None
    priority = PRIORITIES.get(status_name(properties.get("Priority")) or "")
    try:
        with transaction.atomic():
            # Serializes intake per channel: two pollers cannot both create this page's task.
            NotionBoard.objects.select_for_update().get(channel=channel)
            if VideoTask.objects.filter(notion_page_id=page["id"]).exists():
                return ""
            task = video_task_create(
                channel=channel,
                storyboard=storyboard,
                actor="notion",
                topic=plain_text(properties.get("Topic")),
                story_direction=plain_text(properties.get("Story Direction")),
                priority=priority,
            )
            VideoTask.objects.filter(pk=task.pk).update(notion_page_id=page["id"])
            NotionPush.objects.update_or_create(
                task=task, defaults={"requested_at": timezone.now(), "pushed_status": QUEUED}
            )
    except PipelineError as error:
        _card_refuse(api, page, [f"{source}: {error}"])
        return None
    log.info("notion_card_queued", task_id=str(task.pk), page_id=page["id"])
    return str(task.pk)


def _draft_intake(channel, api, page):
    """A Draft card with a Topic, no Task ID and no storyboard block: a draft task whose
    storyboard the writer drafts (pipeline.drafting); the push writes it into the card's body and
    the card stays in Draft until a person moves it to Queued. A card with a storyboard block is
    the person's own, left alone. Returns the new task id, or None."""
    from pipeline.drafting import task_draft_create
    from pipeline.services import PipelineError

    if _yaml_block(api, page["id"]) is not None:
        return None
    properties = page["properties"]
    try:
        with transaction.atomic():
            NotionBoard.objects.select_for_update().get(channel=channel)  # as in _intake
            if VideoTask.objects.filter(notion_page_id=page["id"]).exists():
                return None
            task = task_draft_create(
                channel=channel,
                topic=plain_text(properties.get("Topic")),
                direction=plain_text(properties.get("Story Direction")),
                priority=PRIORITIES.get(status_name(properties.get("Priority")) or ""),
                actor="notion",
                title=_title(properties),
                notion_page_id=page["id"],
            )
            NotionPush.objects.update_or_create(
                task=task, defaults={"requested_at": timezone.now(), "pushed_status": DRAFT}
            )
    except PipelineError as error:
        message = f"Not drafted: {error}\nFix the card; it is read again when it changes."
        if plain_text(properties.get("Error Log")).strip() != message.strip():
            # Only when it says something new: our own edit makes the card "edited" again.
            _card_move(api, page, DRAFT, message, what=f"refusing the draft of page {page['id']}")
        return None
    log.info("notion_card_drafting", task_id=str(task.pk), page_id=page["id"])
    return str(task.pk)


def _card_move(api, page, column, error_log, *, what):
    """Put the card in `column` with `error_log` saying why (split into as many rich-text
    objects as it needs)."""
    properties = {
        "Status": {"status": {"name": column}},
        "Error Log": {"rich_text": rich_text(error_log)},
    }
    api.page_update(page["id"], properties, what=what)


def _card_refuse(api, page, errors):
    message = (
        "Not queued: the storyboard is invalid. Fix the YAML code block in this page and move "
        "the card to Queued again.\n" + "\n".join(f"- {error}" for error in errors)
    )
    _card_move(api, page, DRAFT, message, what=f"refusing page {page['id']} (invalid storyboard)")
    log.info("notion_card_refused", page_id=page["id"], errors=len(errors))


def _draft_queue(api, task, page):
    """A draft of ours whose card was moved to Queued by hand: the person queued it, with the
    storyboard as the card shows it (the YAML code block in its body, edits included; the
    task's own when the card has none). Returns True when queued (or already queued); False when
    refused and the card moved back to Draft with the reason in Error Log."""
    from pipeline.services import PipelineError
    from pipeline.task_actions import task_queue

    source = f"Notion card '{_title(page.get('properties', {})) or page['id']}'"
    try:
        text = _yaml_block(api, page["id"])
        storyboard = None if text is None else _card_storyboard(task.channel, text, source)
        task_queue(task_id=task.pk, actor="notion", storyboard=storyboard)
    except (PipelineError, StoryboardInvalid) as error:
        message = f"Not queued: {error}\nFix it and move the card to Queued again."
        what = f"moving page {page['id']} of draft {task.pk} back to Draft"
        _card_move(api, page, DRAFT, message, what=what)
        NotionPush.objects.filter(task=task).update(pushed_status=DRAFT)
        log.info("notion_draft_refused", task_id=str(task.pk), page_id=page["id"])
        return False
    # the card already shows Queued: our push only has to catch up with the other properties
    notion_push_request(task.pk)
    log.info("notion_draft_queued", task_id=str(task.pk), page_id=page["id"])
    return True


# --- Drift ---------------------------------------------------------------------------------------


def _drift_reason(task, column, expected):
    link = review_link(task)
    if column == DRAFT:
        return (
            f"Moving this card to Draft cancels nothing: the task is still in '{expected}', so the "
            f"card was moved back. To stop the video, cancel the task in Django Admin: {link}"
        )
    shown = f"'{column}'" if column else "no status"
    return (
        f"Moved back to '{expected}': the card was moved by hand to {shown}, but the task is in "
        f"'{expected}' in the database, which decides the column. Approve, reject, retry or "
        f"cancel it in Django Admin: {link}"
    )


def _drift_correct(api, task, page, column):
    """Returns True when the card was moved back."""
    if task.cancelled_at:
        return False  # its push archives the page
    expected = board_column(task.status)
    if column == expected:
        return False
    pushed = NotionPush.objects.filter(task=task).values_list("pushed_status", flat=True).first()
    if column and column == pushed:
        notion_push_request(task.pk)  # stale, not moved: our next push brings it up to date
        return False
    reason = _drift_reason(task, column, expected)
    history = card_error_log(task.error_log)
    error_log = reason + (f"\n\n{history}" if history else "")
    what = f"moving page {page['id']} of task {task.pk} back to '{expected}'"
    _card_move(api, page, expected, error_log, what=what)
    now = timezone.now()
    if not NotionPush.objects.filter(task=task).update(pushed_status=expected):
        NotionPush.objects.get_or_create(
            task=task,
            defaults={"requested_at": now, "pushed_version": now, "pushed_status": expected},
        )
    log.warning("notion_card_moved_back", task_id=str(task.pk), shown=column, expected=expected)
    return True


def notion_poll_channels():
    """The channels to poll: active, with a Notion database."""
    return list(
        Channel.objects.filter(is_active=True)
        .exclude(notion_database_id="")
        .values_list("pk", flat=True)
    )
