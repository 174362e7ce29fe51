"""What an upload needs to know about the cut it sends, and the check every upload goes through.

The fingerprint of the final cut (file_sha256, final_cut_sha256) and the declarations every
upload carries (disclosure_flags) are pipeline facts, used by the uploaders and by the review that
approves a cut. Whether a cut may go out is the final gate's decision, which belongs to reviews:
reviews registers that check here (upload_guard_register, in its AppConfig.ready), so the upload
step runs it without pipeline importing reviews. With no check registered nothing is sent: an
upload never goes out unreviewed because an app is missing.
"""

import hashlib
from functools import partial

from pipeline import paths
from pipeline.runner import Outcome
from pipeline.unit_spec import UnitError

# guard(send, task) -> the outcome of send(task), or UnitError without sending. At most one.
_guard = []


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def final_cut_sha256(task):
    """The fingerprint of the task's final cut as it is now, or "" when there is none."""
    final = paths.final_video(task.channel_id, str(task.pk))
    return file_sha256(final) if final.exists() else ""


def disclosure_flags(channel):
    """The declarations every upload carries: AI-made content (always, by YouTube's policy on
    synthetic media) and the channel's made-for-kids setting."""
    return {"containsSyntheticMedia": True, "selfDeclaredMadeForKids": bool(channel.made_for_kids)}


def upload_guard_register(guard):
    """Make `guard(send, task)` the check every upload goes through (registering it again is a
    no-op, so AppConfig.ready may run twice)."""
    _guard[:] = [guard]
    return guard


def _guarded(send, task):
    if not _guard:
        raise UnitError(
            f"upload of task {task.pk}: no check of the approved cut is registered (the reviews "
            "app registers it); nothing was sent",
            outcome=Outcome.CONFIG,
        )
    return _guard[0](send, task)


def upload_unit_guarded(spec):
    """The upload provider's unit, its function behind the registered guard."""
    spec.function = partial(_guarded, spec.function)
    return spec
