"""The models every app writes: the alerts sent (the alert sender's deduplication memory) and the
audit trail. They keep the tables they were created with in pipeline and reviews; core's migration
0001 took them over in Django's state only."""

from django.db import models


class Alert(models.Model):
    """Alerts sent (or suppressed as duplicates) — the deduplication memory of the alert sender."""

    level = models.CharField(max_length=10)
    key = models.CharField(max_length=200, db_index=True)
    title = models.CharField(max_length=256)
    message = models.TextField()
    delivered = models.BooleanField(default=False)
    suppressed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "pipeline_alert"  # the table it had in pipeline, before it moved here

    def __str__(self):
        return f"{self.level} {self.title}"


# What each audit action is called on screen; an action missing here shows as its words.
AUDIT_ACTION_LABELS = {
    "review_approved": "approved at a gate",
    "review_rejected": "rejected at a gate",
    "storyboard_edit": "storyboard edited",
    "task_queue": "draft queued",
    "task_retry": "retried the failed step",
    "task_redo": "redo asked",
    "task_cancel": "cancelled",
    "task_draft_create": "new video drafted",
    "task_draft_retry": "draft written again",
    "budget_override": "budget overridden",
    "credential_changed": "credential changed",
    "notion_card_recreated": "Notion card recreated",
    "notion_move_refused": "Notion move refused",
    "notion_user_mapped": "Notion user mapped",
    "notion_user_unmapped": "Notion user unmapped",
    "upload_found_by_marker": "upload found on YouTube",
    "upload_not_found_by_marker": "upload not found on YouTube",
    "upload_outcome_unknown": "upload outcome unknown",
    "upload_reconciled": "upload reconciled",
    "upload_settled": "upload settled",
    "youtube_oauth_setup": "YouTube authorized",
}


def audit_action_label(action):
    return AUDIT_ACTION_LABELS.get(action) or action.replace("_", " ")


class AuditLog(models.Model):
    """Every human action, append-only: the database itself refuses UPDATE, DELETE and TRUNCATE
    on this table (triggers in reviews' migration 0002). Kept at least two years."""

    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=50, db_index=True)
    task = models.ForeignKey(
        "pipeline.VideoTask",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=True,
        related_name="audit_entries",
    )
    # The channel the action concerns (the task's, or the channel itself for a settings change),
    # so that an auditor can ask for everything about one channel in one period.
    channel = models.ForeignKey(
        "channels_app.Channel",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="audit_entries",
    )
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "reviews_auditlog"  # the table it had in reviews, before it moved here
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["channel", "created_at"], name="audit_channel_time")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(actor=""), name="audit_actor_named"),
            models.CheckConstraint(condition=~models.Q(action=""), name="audit_action_named"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor}: {audit_action_label(self.action)}"
