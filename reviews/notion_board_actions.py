"""The board's moves that make review decisions: a card moved from Final Review to Approved
approves the video at the final gate, as the admin does, in the name of the Django user the Notion
user is mapped to (reviews.NotionUser). Registered with pipeline's board (notion_moves) by
ReviewsConfig.ready; pipeline/integrations/notion_actions.py decides when a move asks for it and
who may make it."""

from pipeline.integrations.notion_moves import board_move_register, notion_user_resolver_register
from reviews.decisions import ReviewError, review_approve
from reviews.reviewer_checks import VIA_NOTION
from reviews.selectors import notion_user_resolve


def board_approve(task, user, notes):
    review_approve(task_id=task.pk, reviewer=user, notes=notes, via=VIA_NOTION)


def notion_board_actions_register():
    board_move_register("approve", board_approve, refusals=(ReviewError,))
    notion_user_resolver_register(notion_user_resolve)
