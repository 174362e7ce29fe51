"""Writes of the reviews app: the audit trail (and, in reviews.decisions, the gate decisions)."""

from core.models import AuditLog


def audit_log_record(
    *,
    actor,
    action,
    task=None,
    channel=None,
    notes="",
    metadata=None,
    object_type="",
    object_id="",
):
    """Append one row to the audit trail. `actor` is a username or a named process
    ("manage.py", "notion-intake"); secrets never go into notes or metadata. The row carries the
    task's channel, or the channel acted on (`channel`, or object_type "channel")."""
    actor_name = getattr(actor, "get_username", lambda: str(actor))() if actor else ""
    channel_id = (
        getattr(channel, "pk", channel)
        or (task.channel_id if task else None)
        or (str(object_id) if object_type == "channel" and object_id else None)
    )
    return AuditLog.objects.create(
        actor=actor_name or "unknown",
        action=action,
        task=task,
        channel_id=channel_id,
        notes=notes or "",
        metadata=metadata or {},
        object_type=object_type,
        object_id=str(object_id) if object_id else "",
    )
