"""Keeping every task's card current: coalesced pushes.

Any change a board shows (status, progress, cost, error log) marks the task's one NotionPush row
dirty (requested_at = now) and sends a `pipeline.notion_push` message with a short countdown. The
pusher claims a dirty row with a lease (conditional UPDATE), remembers the requested_at it
claimed, then reads the task's LATEST values and writes them to the page. Changes during the push
make the row dirty again and the same pusher goes round once more. So a burst of 10 transitions
becomes one page update (two if the burst straddles the push), always ending in the latest values;
the other nine messages find the row clean or leased and do nothing.

A task created outside Notion gets its page on the first push. The page is created once: before
creating, the pusher looks the task up by its Task ID in the data source, so a crash between
creating the page and saving its id finds the page next time instead of making a second card.
Creating costs that look-up and the create, nothing more: the title is addressed by its property
id, which is "title" in every Notion database whatever the column is called, so no schema read
is needed (and a renamed title column changes nothing).

A cancelled task's page is trashed (`in_trash`). A card a person trashed refuses every edit (400
"Can't edit block that is archived"); the database wins: the card is recreated once with a note
in its Error Log. Trashed again (or with NOTION_TRASHED_CARDS = "leave"), it stays in the trash
and the task is not pushed any more. One WARNING either way, and the recreation has an audit row.

The sweep (beat, "notion-push-pending") re-sends dirty rows whose message was lost and retries
failed pushes after a backoff.
"""

import os
import re
import socket
import uuid

import structlog
from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from channels_app.models import NotionPush
from core.alerts import alert_send
from core.audit import audit_log_record
from core.models import AuditLog
from pipeline.clock import db_now, later_expression, now_expression
from pipeline.integrations.notion_board import notion_data_source_resolve
from pipeline.integrations.notion_client import (
    NotionApi,
    NotionAuthError,
    NotionError,
    NotionPageTrashed,
    plain_text,
    rich_text,
)
from pipeline.integrations.notion_drafts import notion_draft_write
from pipeline.models import Video, VideoTask
from pipeline.selectors import task_cost, task_progress_fraction
from pipeline.status import Status, board_column

log = structlog.get_logger(__name__)

PUSH_DELAY_SECONDS = 2.0  # a burst of changes within this is one update
LEASE_SECONDS = 120
MAX_PASSES = 3
RETRY_BACKOFF_SECONDS = (30, 120, 600, 1800, 3600)
ARCHIVED = "archived"  # a cancelled task's card, trashed by us
TRASHED = "trashed"  # a card a person trashed, left there: the task is not pushed any more
TITLE_PROPERTY_ID = "title"  # the id of every Notion database's title property
SWEEP_BATCH = 500
LOG_ENTRY = re.compile(r"^(?=\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\] )", re.MULTILINE)

DIRTY = Q(pushed_version__isnull=True) | Q(requested_at__gt=F("pushed_version"))


def review_link(task):
    return f"{settings.SITE_URL}{reverse('reviews:task', args=[task.pk])}"


def _youtube_url(task):
    return Video.objects.filter(task=task).values_list("youtube_url", flat=True).first() or None


def card_error_log(error_log):
    """The task's error log as the card shows it: newest entry first, so the card begins with
    the reason the task is where it is (the log itself appends, oldest first)."""
    entries = [entry.strip() for entry in LOG_ENTRY.split(error_log or "") if entry.strip()]
    return "\n".join(reversed(entries))


def task_page_properties(task, *, error_log=None):
    """The properties we keep current on a task's card (our values win on every push)."""
    error_log = card_error_log(task.error_log) if error_log is None else error_log
    return {
        "Status": {"status": {"name": board_column(task.status)}},
        "Task ID": {"rich_text": rich_text(str(task.pk))},
        "Progress": {"number": round(task_progress_fraction(task), 4)},
        "Cost": {"number": float(round(task_cost(task), 2))},
        "Error Log": {"rich_text": rich_text(error_log)},
        "Review Link": {"url": review_link(task)},
        "YouTube URL": {"url": _youtube_url(task)},
    }


# --- Requesting a push ---------------------------------------------------------------------------


def notion_push_request(task_id, *, enqueue=True):
    """Mark a task's card as needing an update and (after commit) send the push message.
    A no-op (False) for a task whose channel has no Notion board."""
    has_board = (
        VideoTask.objects.filter(pk=task_id).exclude(channel__notion_database_id="").exists()
    )
    if not has_board:
        return False
    now = timezone.now()
    if not NotionPush.objects.filter(task_id=task_id).update(requested_at=now):
        try:
            with transaction.atomic():
                NotionPush.objects.create(task_id=task_id, requested_at=now)
        except IntegrityError:  # created meanwhile by another process
            NotionPush.objects.filter(task_id=task_id).update(requested_at=now)
    if enqueue:
        transaction.on_commit(lambda: _enqueue(task_id))
    return True


def _enqueue(task_id, countdown=PUSH_DELAY_SECONDS):
    # By name: the Celery tasks (notion_tasks) are an entry point above this module.
    try:
        current_app.send_task("pipeline.notion_push", args=[str(task_id)], countdown=countdown)
    except Exception:  # a broker hiccup must not break the pipeline; the sweep re-sends it
        log.exception("notion_push_enqueue_failed", task_id=str(task_id))


def on_task_changed_listener(task_id):
    """Registered with pipeline.transitions.on_task_changed (PipelineConfig.ready). Never raises:
    a Notion problem must never break a status change."""
    try:
        notion_push_request(task_id)
    except Exception:
        log.exception("notion_push_request_failed", task_id=str(task_id))


# --- Pushing -------------------------------------------------------------------------------------


def _owner():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim(task_id, owner):
    with transaction.atomic():
        claimed = (
            NotionPush.objects.filter(task_id=task_id)
            .filter(DIRTY)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now_expression()))
            .update(
                lease_owner=owner,
                lease_expires_at=later_expression(LEASE_SECONDS),
                attempts=F("attempts") + 1,
            )
        )
        if not claimed:
            return None
        # Read inside the transaction that holds the row lock: a change after this is newer
        # than what we push, so the row stays dirty.
        return NotionPush.objects.filter(task_id=task_id).values_list("requested_at", flat=True)[0]


def _release_done(task_id, owner, version, pushed_status):
    NotionPush.objects.filter(task_id=task_id, lease_owner=owner).update(
        pushed_version=version,
        pushed_at=now_expression(),
        pushed_status=pushed_status,
        lease_owner="",
        lease_expires_at=None,
        attempts=0,
        last_error="",
    )


def _release_failed(task_id, owner, message):
    push = NotionPush.objects.filter(task_id=task_id).values("attempts").first() or {}
    attempts = push.get("attempts", 1)
    delay = RETRY_BACKOFF_SECONDS[min(attempts, len(RETRY_BACKOFF_SECONDS)) - 1]
    NotionPush.objects.filter(task_id=task_id, lease_owner=owner).update(
        lease_owner="",
        lease_expires_at=later_expression(delay),  # not before then
        last_error=message[:5000],
    )


def notion_push(task_id, *, api=None):
    """Bring the task's card up to date if it is dirty. Returns "pushed", "clean" (nothing to
    do, or another pusher holds it) or "failed" (the error is on the NotionPush row)."""
    owner = _owner()
    outcome = "clean"
    for _ in range(MAX_PASSES):
        version = _claim(task_id, owner)
        if version is None:
            return outcome
        try:
            task = VideoTask.objects.select_related("channel").get(pk=task_id)
            api = api or NotionApi.for_channel(task.channel)
            pushed_status = _push_once(task, api)
            if task.status == Status.DRAFT and pushed_status not in (TRASHED, ARCHIVED):
                task.refresh_from_db()  # its page may have just been created
                notion_draft_write(task, api)  # a drafted storyboard into the card's body
        except NotionError as error:
            _release_failed(task_id, owner, str(error))
            log.warning("notion_push_failed", task_id=str(task_id), error=str(error))
            if isinstance(error, NotionAuthError):
                alert_send(
                    level="ERROR",
                    title=f"Notion: access refused for channel {task.channel_id}",
                    message=str(error),
                    key=f"notion-auth:{task.channel_id}",
                )
            return "failed"
        except Exception as error:
            _release_failed(task_id, owner, f"{type(error).__name__}: {error}")
            raise
        _release_done(task_id, owner, version, pushed_status)
        outcome = "pushed"
    return outcome


def _push_once(task, api):
    pushed = NotionPush.objects.filter(task=task).values_list("pushed_status", flat=True).first()
    if pushed == TRASHED:
        return TRASHED  # a person keeps this card in the trash
    if task.cancelled_at:
        if task.notion_page_id:
            try:
                api.call(
                    f"trashing page {task.notion_page_id} of cancelled task {task.pk}",
                    api.client.pages.update,
                    task.notion_page_id,
                    in_trash=True,
                )
            except NotionPageTrashed:
                pass  # already in the trash
        return ARCHIVED
    page_id = task.notion_page_id
    if not page_id:
        page_id, created = _page_find_or_create(task, api)
        if created:
            return board_column(task.status)  # created with the latest values
    try:
        api.page_update(
            page_id, task_page_properties(task), what=f"updating page {page_id} of task {task.pk}"
        )
    except NotionPageTrashed:
        return _card_trashed(task, api, page_id)
    return board_column(task.status)


def _card_trashed(task, api, page_id):
    """A person trashed the task's card. Recreate it once (the database wins), unless the
    deployment says to leave trashed cards, or this card is itself the recreated one."""
    recreated_before = AuditLog.objects.filter(task=task, action="notion_card_recreated").exists()
    title = f"{task.channel_id}: the Notion card of '{task.title[:80]}' was trashed"
    if settings.NOTION_TRASHED_CARDS == "leave" or recreated_before:
        why = "again, after it was recreated once" if recreated_before else "(NOTION_TRASHED_CARDS)"
        alert_send(
            level="WARNING",
            title=title,
            message=f"Page {page_id} of task {task.pk} was trashed in Notion {why}: it is left "
            f"in the trash and the task's card is no longer updated. The task itself goes on: "
            f"{review_link(task)}",
            key=f"notion-trashed:{task.pk}",
        )
        log.warning("notion_card_left_in_trash", task_id=str(task.pk), page_id=page_id)
        return TRASHED
    note = (
        f"This card was trashed in Notion (page {page_id}), but the task is still in "
        f"'{board_column(task.status)}' in the database, which decides the board: the card was "
        f"made again. To stop the video, cancel the task in Django Admin: {review_link(task)}"
    )
    log_text = card_error_log(task.error_log)
    data_source_id = notion_data_source_resolve(channel=task.channel, api=api)
    new_page_id = _page_create(
        task, api, data_source_id, error_log=note + (f"\n\n{log_text}" if log_text else "")
    )
    VideoTask.objects.filter(pk=task.pk).update(notion_page_id=new_page_id)
    audit_log_record(
        actor="notion-push",
        action="notion_card_recreated",
        task=task,
        notes=note,
        metadata={"trashed_page_id": page_id, "page_id": new_page_id},
        object_type="task",
        object_id=task.pk,
    )
    alert_send(
        level="WARNING",
        title=title,
        message=f"{note}. If it is trashed again it is left in the trash.",
        key=f"notion-trashed:{task.pk}",
    )
    log.warning("notion_card_recreated", task_id=str(task.pk), page_id=new_page_id)
    return board_column(task.status)


def _page_find_or_create(task, api):
    data_source_id = notion_data_source_resolve(channel=task.channel, api=api)
    try:
        found = _task_id_look_up(task, api, data_source_id)
    except NotionAuthError as error:
        if error.status != 404:
            raise
        # The cached data source is gone (the database was rebuilt, or its source replaced):
        # ask the database again, once.
        data_source_id = notion_data_source_resolve(channel=task.channel, api=api, refresh=True)
        found = _task_id_look_up(task, api, data_source_id)
    pages = [p for p in found.get("results", []) if plain_text(p["properties"].get("Task ID"))]
    created = not pages
    page_id = _page_create(task, api, data_source_id) if created else pages[0]["id"]
    VideoTask.objects.filter(pk=task.pk, notion_page_id="").update(notion_page_id=page_id)
    return VideoTask.objects.values_list("notion_page_id", flat=True).get(pk=task.pk), created


def _task_id_look_up(task, api, data_source_id):
    return api.call(
        f"looking up task {task.pk} by Task ID in data source {data_source_id}",
        api.client.data_sources.query,
        data_source_id,
        filter={"property": "Task ID", "rich_text": {"equals": str(task.pk)}},
        page_size=10,
    )


def _page_create(task, api, data_source_id, *, error_log=None):
    properties = {
        TITLE_PROPERTY_ID: {"title": rich_text(task.title)},
        "Channel": {"select": {"name": task.channel_id}},
        "Topic": {"rich_text": rich_text(task.topic)},
        "Story Direction": {"rich_text": rich_text(task.story_direction)},
        "Priority": {"select": {"name": task.get_priority_display()}},
        **task_page_properties(task, error_log=error_log),
    }
    page = api.call(
        f"creating the page of task {task.pk} in data source {data_source_id}",
        api.client.pages.create,
        parent={"type": "data_source_id", "data_source_id": data_source_id},
        properties=properties,
        idempotent=False,  # never retried blindly: the next push looks it up by Task ID
        sent=tuple(properties),
    )
    log.info("notion_page_created", task_id=str(task.pk), page_id=page["id"])
    return page["id"]


# --- Sweep ---------------------------------------------------------------------------------------


def notion_push_pending():
    """Re-send pushes that are due (lost messages, failed pushes after their backoff), and make
    sure every cancelled task's card gets archived. Returns how many were sent."""
    now = db_now()
    cancelled = (
        VideoTask.objects.filter(cancelled_at__isnull=False)
        .exclude(channel__notion_database_id="")
        .exclude(notion_push__pushed_status__in=(ARCHIVED, TRASHED))
        .exclude(notion_push__requested_at__gte=F("cancelled_at"))
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for task_id in list(cancelled):
        notion_push_request(task_id, enqueue=False)
    due = (
        NotionPush.objects.filter(DIRTY)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .values_list("task_id", flat=True)[:SWEEP_BATCH]
    )
    due = list(due)
    for task_id in due:
        _enqueue(task_id, countdown=0)
    return len(due)
