"""Writes of the reviews app: the audit trail (and, in pipeline.reviewing, the gate decisions)."""

from reviews.models import AuditLog


def audit_log_record(
    *, actor, action, task=None, notes="", metadata=None, object_type="", object_id=""
):
    """Append one row to the audit trail. `actor` is a username or a named process
    ("manage.py", "notion-intake"); secrets never go into notes or metadata."""
    actor_name = getattr(actor, "get_username", lambda: str(actor))() if actor else ""
    return AuditLog.objects.create(
        actor=actor_name or "unknown",
        action=action,
        task=task,
        notes=notes or "",
        metadata=metadata or {},
        object_type=object_type,
        object_id=str(object_id) if object_id else "",
    )
