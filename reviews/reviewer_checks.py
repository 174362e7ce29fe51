"""Who may decide, and what their decision covers.

Every decision at a review gate is made by a known, active user who holds the review permission,
whichever way it comes in (the admin, a Notion card, the command line with --as). At the final
gate the decision covers one file: the SHA-256 of the cut the reviewer saw is recorded with it,
and the upload sends only a file with that fingerprint (the compliance trail: a person reviewed
exactly what went out).
"""

import structlog

from pipeline.runner import Outcome
from pipeline.unit_spec import UnitError
from pipeline.upload_guard import disclosure_flags, final_cut_sha256
from reviews.models import Decision, Review

log = structlog.get_logger(__name__)

REVIEW_PERMISSION = "reviews.can_review"
# The ways a decision comes in, as the review and its audit row name them.
VIA_ADMIN, VIA_NOTION, VIA_COMMAND_LINE = "admin", "Notion", "command line"


class ReviewError(Exception):
    """The decision cannot be made; the message says why and nothing was changed."""


def reviewer_check(reviewer):
    """The reviewer's username, or ReviewError naming what is missing."""
    if reviewer is None:
        raise ReviewError("a decision needs a known user with the review permission")
    if not reviewer.is_active:
        raise ReviewError(f"user {reviewer.get_username()!r} is not active; nothing was recorded")
    if not reviewer.has_perm(REVIEW_PERMISSION):
        raise ReviewError(
            f"user {reviewer.get_username()!r} may not review (no 'Can approve or reject videos "
            "at review gates' permission: add them to the Reviewers group); nothing was recorded"
        )
    return reviewer.get_username()


def approved_cut_only(send, task):
    """Run an upload provider's `send(task)` only if the final cut is the one approved at the
    final gate; the fingerprint sent goes into the unit's usage (recorded with the video id).
    Registered as the upload guard (pipeline.upload_guard) by ReviewsConfig.ready."""
    approval = (
        Review.objects.filter(task=task, gate="final", decision=Decision.APPROVED)
        .order_by("-created_at", "-id")
        .first()
    )
    sending = final_cut_sha256(task)
    approved = approval.cut_sha256 if approval else ""
    if approved and sending != approved:
        raise UnitError(
            f"upload of task {task.pk}: the final video is not the cut {approval.reviewer_name} "
            f"approved (SHA-256 {sending[:12] or 'none'}… now, {approved[:12]}… approved on "
            f"{approval.created_at:%Y-%m-%d %H:%M} UTC); nothing was sent. Review the video again.",
            outcome=Outcome.PERMANENT,
        )
    if not approved:
        log.warning("upload_of_an_unfingerprinted_approval", task_id=str(task.pk))
    outcome = send(task)
    usage = outcome.setdefault("usage", {})
    usage.update(uploaded_sha256=sending, disclosure=disclosure_flags(task.channel))
    return outcome
