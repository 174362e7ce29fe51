"""Acting on the board: the moves a person may make on a card, and who may make them.

The poll (notion_intake) hands every card of ours whose column differs from its task's status to
`notion_card_act` before correcting it. Two moves are actions:

- Final Review -> Approved: approves the video at the final gate, as the admin does
  (reviews.decisions.review_approve, registered as the board move "approve" by
  reviews/notion_board_actions.py), in the name of the Django user the mover is mapped to.
- Asset/Video/Audio/Upload Error -> Queued: a retry from the failed step (pipeline.services
  .task_retry, what `manage.py retry_task` and the admin's retry action call).

Who moved the card: the page's `last_edited_by` (a partial user, {"object": "user", "id": ...}),
looked up in the admin's mapping (reviews.NotionUser: Notion user id -> Django user). The mapped
user must be active and hold the action's permission (reviews.can_review to approve; the task
change permission, which the admin's retry action needs, to retry). An unknown person, or one
without the permission, is refused: the card goes back to its task's column with the reason at the
top of Error Log, and an audit row records the attempt with the Notion user id as the actor.

Seen twice (the boundary minute, two pollers): the decision is a conditional UPDATE, so the second
finds the task already moved and does nothing; and once acted on, the card counts as showing our
last push (NotionPush.pushed_status), so a later poll takes it for a stale card, not a new move.

Draft -> Queued stays open to anyone on the board (notion_intake): it is the board's intake, the
same as a new card put in Queued, which boards have always accepted from any member; the spend it
starts is bounded by the channel's budgets, and the final review still needs a mapped reviewer.
"""

from dataclasses import dataclass

import structlog
from django.db import transaction
from django.utils import timezone

from channels_app.models import NotionPush
from core.audit import audit_log_record
from pipeline.integrations.notion_client import rich_text
from pipeline.integrations.notion_moves import (
    board_move_perform,
    board_move_refusals,
    notion_user_resolve,
)
from pipeline.integrations.notion_push import card_error_log, notion_push_request, review_link
from pipeline.services import PipelineError
from pipeline.status import ERROR_STATUSES, Status, board_column
from pipeline.task_actions import task_retry
from pipeline.transitions import TransitionConflict

log = structlog.get_logger(__name__)

DONE = "done"  # the action was taken (or another poller took it first)
REFUSED = "refused"  # the card was moved back, with the reason in Error Log


@dataclass(frozen=True)
class BoardAction:
    name: str
    permission: str
    what: str  # "approve this video": what the person asked, for messages

    def perform(self, task, user, notes):
        if self.name == "retry":
            task_retry(task_id=task.pk, actor=user.get_username(), notes=notes)
        else:  # registered by the app that owns the decision (reviews: approve)
            board_move_perform(self.name, task, user, notes)


APPROVE = BoardAction("approve", "reviews.can_review", "approve this video")
RETRY = BoardAction("retry", "pipeline.change_videotask", "retry this task")
APPROVED = board_column(Status.APPROVED)
QUEUED = board_column(Status.QUEUED)


def board_action_for(task, column):
    """The action a card of `task` moved to `column` asks for, or None (not an action)."""
    if task.cancelled_at:
        return None
    if column == APPROVED and task.status == Status.FINAL_REVIEW:
        return APPROVE
    if column == QUEUED and task.status in ERROR_STATUSES:
        return RETRY
    return None


def notion_card_act(api, task, page, column):
    """Act on a card moved to `column` by a person. Returns DONE, REFUSED, or None when the move
    is no action (the caller corrects it as any other move)."""
    action = board_action_for(task, column)
    if action is None:
        return None
    pushed = NotionPush.objects.filter(task=task).values_list("pushed_status", flat=True).first()
    if column == pushed:
        return None  # the card shows what we last wrote: stale, not a person's move
    mover = (page.get("last_edited_by") or {}).get("id") or ""
    user = notion_user_resolve(mover) if mover else None
    refusal = _refusal(action, task, column, mover, user)
    if refusal:
        _refuse(api, task, page, column, mover, user, refusal)
        return REFUSED
    source = board_column(task.status)
    notes = f"via Notion: card moved from '{source}' to '{column}' by Notion user {mover}"
    try:
        with transaction.atomic():
            action.perform(task, user, notes)
            _card_shows(task, column)
    except (*board_move_refusals(), PipelineError, TransitionConflict) as error:
        task.refresh_from_db()
        if board_action_for(task, column) is not action:
            notion_push_request(task.pk)  # someone acted first; our push shows where it is now
            return DONE
        reason = f"Moved back to '{board_column(task.status)}': could not {action.what}: {error}"
        _refuse(api, task, page, column, mover, user, reason)
        return REFUSED
    log.info(
        "notion_card_action", action=action.name, task_id=str(task.pk),
        user=user.get_username(), notion_user_id=mover,
    )  # fmt: skip
    return DONE


def _refusal(action, task, column, mover, user):
    """Why the mover may not take this action, or "" when they may."""
    expected = board_column(task.status)
    start = f"Moved back to '{expected}': moving the card to '{column}' would {action.what}"
    admin = f"or {action.what} in Django Admin: {review_link(task)}"
    if not mover:
        return f"{start}, but Notion did not say who moved it. {admin.capitalize()}"
    if user is None:
        return (
            f"{start}, but Notion user {mover} is not mapped to a user here. An admin can map "
            f"them (Django Admin > Notion users) to act from the board; {admin}"
        )
    if not user.is_active:
        return (
            f"{start}, but Notion user {mover} acts as {user.get_username()}, whose account is "
            f"inactive; {admin}"
        )
    if not user.has_perm(action.permission):
        return (
            f"{start}, but {user.get_username()} (Notion user {mover}) lacks the permission "
            f"'{action.permission}' it needs; an admin can grant it, {admin}"
        )
    return ""


def _card_shows(task, column):
    """Record that the card shows `column` as if we had pushed it: a later poll seeing it there
    takes it for stale (a push is due), not for a new move."""
    if not NotionPush.objects.filter(task=task).update(pushed_status=column):
        now = timezone.now()
        NotionPush.objects.get_or_create(
            task=task,
            defaults={"requested_at": now, "pushed_version": now, "pushed_status": column},
        )


def _refuse(api, task, page, column, mover, user, reason):
    expected = board_column(task.status)
    history = card_error_log(task.error_log)
    properties = {
        "Status": {"status": {"name": expected}},
        "Error Log": {"rich_text": rich_text(reason + (f"\n\n{history}" if history else ""))},
    }
    api.page_update(page["id"], properties, what=f"moving page {page['id']} of task {task.pk} back")
    _card_shows(task, expected)
    audit_log_record(
        actor=mover or "notion (unknown user)",
        action="notion_move_refused",
        task=task,
        notes=reason,
        metadata={
            "notion_user_id": mover,
            "user": user.get_username() if user else "",
            "page_id": page["id"],
            "moved_to": column,
            "moved_back_to": expected,
        },
        object_type="notion_page",
        object_id=page["id"],
    )
    log.warning(
        "notion_move_refused", task_id=str(task.pk), notion_user_id=mover,
        moved_to=column, moved_back_to=expected,
    )  # fmt: skip
