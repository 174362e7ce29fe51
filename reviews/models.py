from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from pipeline.models import VideoTask
from pipeline.status import GATES


class Gate(models.TextChoices):
    ASSETS = "assets", "Assets"
    VIDEO = "video", "Video clips"
    AUDIO = "audio", "Audio"
    FINAL = "final", "Final review"


assert set(Gate.values) == set(GATES)


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Review(models.Model):
    """A human decision at a gate. A task has at most one decision per visit to a gate: the
    approve/reject services make it with a conditional UPDATE on the task's status."""

    task = models.ForeignKey(VideoTask, on_delete=models.PROTECT, related_name="reviews")
    gate = models.CharField(max_length=10, choices=Gate.choices)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    reviewer_name = models.CharField(max_length=150)
    notes = models.TextField(blank=True)
    redo_step = models.CharField(max_length=20, blank=True)
    redo_scenes = models.JSONField(default=list, blank=True)
    # A final rejection keeps the cut the reviewer saw (pipeline.paths.rejected_cut), relative
    # to the workspace root.
    rejected_cut = models.CharField(max_length=500, blank=True)
    # At the final gate: the SHA-256 of the cut the reviewer saw. An approved cut is the only
    # file the upload will send.
    cut_sha256 = models.CharField(max_length=64, blank=True)
    # How the decision came in: the admin, a Notion card, the command line.
    via = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("can_review", "Can approve or reject videos at review gates")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(gate__in=Gate.values), name="review_gate_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(decision__in=Decision.values), name="review_decision_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(reviewer_name=""), name="review_reviewer_named"
            ),
        ]

    def __str__(self):
        return f"{self.gate} {self.decision} by {self.reviewer_name}"


def notion_user_id_normalize(value):
    """A Notion user id as Notion writes it in a page's last_edited_by (a dashed, lower-case
    UUID), from what a person pastes (with or without dashes, any case). ValueError names the
    field and what is expected."""
    bare = str(value).strip().replace("-", "").lower()
    if len(bare) != 32 or any(char not in "0123456789abcdef" for char in bare):
        raise ValueError(
            f"notion_user_id: expected a Notion user id (32 hexadecimal digits, with or without "
            f"dashes, e.g. 5ba97cc9-e5e0-4363-b33a-1d80a635577f), got {str(value)[:80]!r}"
        )
    return f"{bare[:8]}-{bare[8:12]}-{bare[12:16]}-{bare[16:20]}-{bare[20:]}"


class NotionUser(models.Model):
    """A person on the Notion boards, mapped to the Django user they act as when they move a card
    (pipeline/integrations/notion_actions.py). The mapping names who acted; what they may do
    comes from that user's permissions (reviews.can_review to approve, the task change
    permission to retry), so an unmapped person's move is refused and moved back."""

    notion_user_id = models.CharField(
        max_length=36,
        unique=True,
        help_text="The person's Notion user id (a page's last_edited_by.id; with or without "
        "dashes).",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notion_users"
    )
    name = models.CharField(
        max_length=150, blank=True, help_text="How the person appears in Notion (a reminder)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username", "notion_user_id"]
        verbose_name = "Notion user"

    def __str__(self):
        return f"{self.name or self.notion_user_id} -> {self.user}"

    def save(self, *args, **kwargs):
        self.notion_user_id = notion_user_id_normalize(self.notion_user_id)
        super().save(*args, **kwargs)

    def clean(self):
        try:
            self.notion_user_id = notion_user_id_normalize(self.notion_user_id)
        except ValueError as error:
            raise ValidationError({"notion_user_id": str(error)}) from error
