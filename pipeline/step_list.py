"""The pipeline's steps, each declared once, in pipeline order: its board columns (working, ready,
error), its scripts with the seconds one run may take by default, what one unit of it is, where
its output goes, the steps it is made from (a redo of those makes it again) and its review gate.

Every other table (the status machine, what comes after a status, output paths, the redo graph,
the scripts' timeouts, doctor's script list) is derived from this list by pipeline/step_tables.py.
A new step is its declaration here, its script and a migration for its statuses.

Plain Python, no Django: settings and scripts' tooling read it before Django is set up."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """A task status: the value stored in the database and its Notion board column."""

    value: str
    label: str


@dataclass(frozen=True)
class Gate:
    """Where a reviewer may stop a task after the step. A channel opts in to an optional gate
    (the task waits in the step's ready column); a gate with a review column of its own is
    always passed through (the final review)."""

    name: str
    approved: Column
    review: Column | None = None

    @property
    def optional(self):
        return self.review is None


@dataclass(frozen=True)
class StepDeclaration:
    name: str
    working: Column | None  # None: the step has no columns of its own (the writer)
    ready: Column | None
    error: Column | None
    scripts: dict = field(default_factory=dict)  # {script name: default timeout in seconds}
    unit: str = "scene"  # one unit per "asset", per "scene", or one for the whole "video"
    output: tuple | None = None  # (folder, extension) under the task's project folder
    made_from: tuple = ()  # steps whose units this step's units are made from
    gate: Gate | None = None
    # What its spend is booked under (costs.models.Component), for a step with no code of its own
    # (pipeline.steps.ScriptStep); the others name theirs in their code.
    component: str = ""


ASSET_ERROR = Column("asset_error", "Asset Error")
VIDEO_ERROR = Column("video_error", "Video Error")
AUDIO_ERROR = Column("audio_error", "Audio Error")
UPLOAD_ERROR = Column("upload_error", "Upload Error")

# Step 0, the writers' room: one unit, the storyboard. It runs while its task is in Draft and
# leaves it there (pipeline/drafting.py), so it has no columns of its own.
DRAFT = StepDeclaration(
    name="draft",
    working=None,
    ready=None,
    error=None,
    scripts={"generate_storyboard": 600},
    unit="video",
)

STEPS = [
    StepDeclaration(
        name="assets",
        working=Column("generating_assets", "Generating Assets"),
        ready=Column("assets_ready", "Assets Ready"),
        error=ASSET_ERROR,
        scripts={"generate_asset": 300},
        unit="asset",
        output=("assets", ".png"),
        gate=Gate("assets", approved=Column("assets_approved", "Assets Approved")),
    ),
    StepDeclaration(
        name="composites",
        working=Column("generating_composites", "Generating Composites"),
        ready=Column("composites_ready", "Composites Ready"),
        error=ASSET_ERROR,
        scripts={"create_composite": 120, "create_split_screen": 120},
        output=("composites", ".png"),
        made_from=("assets",),
    ),
    StepDeclaration(
        name="videos",
        working=Column("generating_video", "Generating Video"),
        ready=Column("video_ready", "Video Ready"),
        error=VIDEO_ERROR,
        scripts={"generate_video": 1200},
        output=("videos", ".mp4"),
        made_from=("composites",),
        gate=Gate("video", approved=Column("video_approved", "Video Approved")),
    ),
    StepDeclaration(
        name="audio",
        working=Column("generating_audio", "Generating Audio"),
        ready=Column("audio_ready", "Audio Ready"),
        error=AUDIO_ERROR,
        scripts={"generate_audio": 300},
        output=("audio", ".mp3"),
        gate=Gate("audio", approved=Column("audio_approved", "Audio Approved")),
    ),
    StepDeclaration(
        name="sfx",
        working=Column("generating_sfx", "Generating SFX"),
        ready=Column("sfx_ready", "SFX Ready"),
        error=AUDIO_ERROR,
        scripts={"generate_sound_effects": 300},
        output=("sfx", ".mp3"),
    ),
    StepDeclaration(
        name="assembly",
        working=Column("assembling", "Assembling"),
        ready=Column("assembly_ready", "Assembly Ready"),
        error=VIDEO_ERROR,
        scripts={"assemble_video": 1800},
        unit="video",  # final.mp4 (pipeline.paths.final_video)
        made_from=("videos", "audio", "sfx"),
        gate=Gate(
            "final",
            approved=Column("approved", "Approved"),
            review=Column("final_review", "Final Review"),
        ),
    ),
    # After the final gate: publishing, not production (a redo never goes back to it).
    StepDeclaration(
        name="upload",
        working=Column("uploading", "Uploading"),
        ready=Column("published", "Published"),
        error=UPLOAD_ERROR,
        unit="video",
        made_from=("assembly",),
    ),
]
