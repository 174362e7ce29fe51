from django.conf import settings
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


class AuditLog(models.Model):
    """Every human action, append-only: the database itself refuses UPDATE, DELETE and TRUNCATE
    on this table (triggers in migration 0002). Kept at least two years."""

    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=50, db_index=True)
    task = models.ForeignKey(
        VideoTask,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=True,
        related_name="audit_entries",
    )
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(actor=""), name="audit_actor_named"),
            models.CheckConstraint(condition=~models.Q(action=""), name="audit_action_named"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action}"
