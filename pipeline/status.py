"""The task status machine: the 26 statuses (one per Notion board column, in board order), the
one table of allowed transitions, the error status of each phase, and the coarse lifecycle groups
used for filters and reports. Nothing else in the code base decides these."""

from django.db import models


class Status(models.TextChoices):
    # value, Notion option name (the board column), in board order
    DRAFT = "draft", "Draft"
    QUEUED = "queued", "Queued"
    CLAIMED = "claimed", "Claimed"
    GENERATING_ASSETS = "generating_assets", "Generating Assets"
    ASSETS_READY = "assets_ready", "Assets Ready"
    ASSETS_APPROVED = "assets_approved", "Assets Approved"
    GENERATING_COMPOSITES = "generating_composites", "Generating Composites"
    COMPOSITES_READY = "composites_ready", "Composites Ready"
    GENERATING_VIDEO = "generating_video", "Generating Video"
    VIDEO_READY = "video_ready", "Video Ready"
    VIDEO_APPROVED = "video_approved", "Video Approved"
    GENERATING_AUDIO = "generating_audio", "Generating Audio"
    AUDIO_READY = "audio_ready", "Audio Ready"
    AUDIO_APPROVED = "audio_approved", "Audio Approved"
    GENERATING_SFX = "generating_sfx", "Generating SFX"
    SFX_READY = "sfx_ready", "SFX Ready"
    ASSEMBLING = "assembling", "Assembling"
    ASSEMBLY_READY = "assembly_ready", "Assembly Ready"
    FINAL_REVIEW = "final_review", "Final Review"
    APPROVED = "approved", "Approved"
    UPLOADING = "uploading", "Uploading"
    PUBLISHED = "published", "Published"
    ASSET_ERROR = "asset_error", "Asset Error"
    VIDEO_ERROR = "video_error", "Video Error"
    AUDIO_ERROR = "audio_error", "Audio Error"
    UPLOAD_ERROR = "upload_error", "Upload Error"


S = Status
BOARD_COLUMNS = [status.label for status in Status]  # the Notion Status options, in order

ERROR_STATUSES = frozenset({S.ASSET_ERROR, S.VIDEO_ERROR, S.AUDIO_ERROR, S.UPLOAD_ERROR})
GATE_STATUSES = frozenset({S.ASSETS_READY, S.VIDEO_READY, S.AUDIO_READY, S.FINAL_REVIEW})
RUNNING_STATUSES = frozenset(
    {
        S.CLAIMED,
        S.GENERATING_ASSETS,
        S.ASSETS_APPROVED,
        S.GENERATING_COMPOSITES,
        S.COMPOSITES_READY,
        S.GENERATING_VIDEO,
        S.VIDEO_APPROVED,
        S.GENERATING_AUDIO,
        S.AUDIO_APPROVED,
        S.GENERATING_SFX,
        S.SFX_READY,
        S.ASSEMBLING,
        S.ASSEMBLY_READY,
        S.UPLOADING,
    }
)

# Gates: the *_ready status where a task waits for a reviewer, and the approved status it moves to.
GATES = {
    "assets": (S.ASSETS_READY, S.ASSETS_APPROVED),
    "video": (S.VIDEO_READY, S.VIDEO_APPROVED),
    "audio": (S.AUDIO_READY, S.AUDIO_APPROVED),
    "final": (S.FINAL_REVIEW, S.APPROVED),
}
OPTIONAL_GATES = ("assets", "video", "audio")
GATE_BY_STATUS = {ready: gate for gate, (ready, _) in GATES.items()}

# Steps (pipeline order) with their running status, done status and error status.
STEP_STATUSES = {
    "assets": (S.GENERATING_ASSETS, S.ASSETS_READY, S.ASSET_ERROR),
    "composites": (S.GENERATING_COMPOSITES, S.COMPOSITES_READY, S.ASSET_ERROR),
    "videos": (S.GENERATING_VIDEO, S.VIDEO_READY, S.VIDEO_ERROR),
    "audio": (S.GENERATING_AUDIO, S.AUDIO_READY, S.AUDIO_ERROR),
    "sfx": (S.GENERATING_SFX, S.SFX_READY, S.AUDIO_ERROR),
    "assembly": (S.ASSEMBLING, S.ASSEMBLY_READY, S.VIDEO_ERROR),
    "upload": (S.UPLOADING, S.PUBLISHED, S.UPLOAD_ERROR),
}
STEP_ORDER = list(STEP_STATUSES)

# Drafting (step 0, the writers' room) is a unit of work too, but not a production step: it runs
# while its task is in Draft and leaves it there (pipeline/drafting.py), so it has no running,
# done or error status of its own and is not in STEP_ORDER.
DRAFT_STEP = "draft"
WORK_STEPS = [DRAFT_STEP, *STEP_ORDER]  # every step a WorkItem may belong to
# The status a unit's task must be in for the unit to run.
UNIT_RUNNING_STATUS = {
    DRAFT_STEP: S.DRAFT,
    **{step: running for step, (running, _, _) in STEP_STATUSES.items()},
}

# Coarse lifecycle (the architecture document's words) as a grouping, for filters and reports.
LIFECYCLE_GROUPS = {
    "pending": {S.DRAFT, S.QUEUED},
    "claimed": {S.CLAIMED},
    "processing": RUNNING_STATUSES - {S.CLAIMED},
    "awaiting_review": set(GATE_STATUSES),
    "approved": {S.APPROVED},
    "completed": {S.PUBLISHED},
    "failed": set(ERROR_STATUSES),
}
GROUP_BY_STATUS = {
    status: group for group, members in LIFECYCLE_GROUPS.items() for status in members
}

# A redo (a rejection that names a step, or the redo action on a stopped task) goes straight back
# into production in the named step's running status.
PRODUCTION_STEPS = ("assets", "composites", "videos", "audio", "sfx", "assembly")
REDO_TARGETS = frozenset(STEP_STATUSES[step][0] for step in PRODUCTION_STEPS)

# The one table of allowed transitions.
TRANSITIONS = {
    S.DRAFT: {S.QUEUED},
    S.QUEUED: {S.CLAIMED, S.DRAFT},
    S.CLAIMED: {S.GENERATING_ASSETS, S.QUEUED},
    S.GENERATING_ASSETS: {S.ASSETS_READY, S.ASSET_ERROR},
    S.ASSETS_READY: {
        S.ASSETS_APPROVED,
        S.GENERATING_COMPOSITES,
        S.ASSET_ERROR,
        S.GENERATING_ASSETS,
    },
    S.ASSETS_APPROVED: {S.GENERATING_COMPOSITES},
    S.GENERATING_COMPOSITES: {S.COMPOSITES_READY, S.ASSET_ERROR},
    S.COMPOSITES_READY: {S.GENERATING_VIDEO},
    S.GENERATING_VIDEO: {S.VIDEO_READY, S.VIDEO_ERROR},
    S.VIDEO_READY: {
        S.VIDEO_APPROVED,
        S.GENERATING_AUDIO,
        S.VIDEO_ERROR,
        S.GENERATING_ASSETS,
        S.GENERATING_COMPOSITES,
        S.GENERATING_VIDEO,
    },
    S.VIDEO_APPROVED: {S.GENERATING_AUDIO},
    S.GENERATING_AUDIO: {S.AUDIO_READY, S.AUDIO_ERROR},
    S.AUDIO_READY: {
        S.AUDIO_APPROVED,
        S.GENERATING_SFX,
        S.AUDIO_ERROR,
        S.GENERATING_ASSETS,
        S.GENERATING_COMPOSITES,
        S.GENERATING_VIDEO,
        S.GENERATING_AUDIO,
    },
    S.AUDIO_APPROVED: {S.GENERATING_SFX},
    S.GENERATING_SFX: {S.SFX_READY, S.AUDIO_ERROR},
    S.SFX_READY: {S.ASSEMBLING},
    S.ASSEMBLING: {S.ASSEMBLY_READY, S.VIDEO_ERROR},
    # Video Error: a channel requiring a clean cut check (pipeline/final_cut.py).
    S.ASSEMBLY_READY: {S.FINAL_REVIEW, S.VIDEO_ERROR},
    # A final rejection with a redo goes back into the named step; one with notes only stops in
    # the error column of the gate's phase (assembly: Video Error) until someone picks the next
    # action (redo from a step, or cancel).
    S.FINAL_REVIEW: {S.APPROVED, S.VIDEO_ERROR, *REDO_TARGETS},
    S.APPROVED: {S.UPLOADING, S.UPLOAD_ERROR},
    # Back to approved: an upload deferred to the next quota reset waits there.
    S.UPLOADING: {S.PUBLISHED, S.UPLOAD_ERROR, S.APPROVED},
    S.PUBLISHED: set(),
    # From an error, back to the failed phase (retry; work already done is kept), or to any
    # production step (redo from a step).
    S.ASSET_ERROR: set(REDO_TARGETS),
    S.VIDEO_ERROR: set(REDO_TARGETS),
    S.AUDIO_ERROR: set(REDO_TARGETS),
    S.UPLOAD_ERROR: {S.APPROVED, S.UPLOADING},
}

assert set(TRANSITIONS) == set(Status), "every status needs a row in TRANSITIONS"


class IllegalTransition(Exception):
    def __init__(self, task_id, current, target):
        self.task_id, self.current, self.target = task_id, current, target
        allowed = ", ".join(sorted(TRANSITIONS[Status(current)])) or "nothing (final)"
        super().__init__(
            f"task {task_id}: cannot move from {current} to {target}; "
            f"from {current} it may go to {allowed}"
        )


def can_transition(current, target):
    return Status(target) in TRANSITIONS[Status(current)]


def board_column(status):
    """The Notion Status option name for a status."""
    return Status(status).label


def status_for_column(column_name):
    for status in Status:
        if status.label == column_name:
            return status
    raise ValueError(f"unknown board column {column_name!r}; expected one of {BOARD_COLUMNS}")


def lifecycle_group(status):
    return GROUP_BY_STATUS[Status(status)]
