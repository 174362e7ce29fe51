"""What a step hands the pipeline for one unit of work (UnitSpec), and how an in-process unit (an
upload) says it failed, must wait, or is already being done by another execution."""

from dataclasses import dataclass, field
from pathlib import Path


class UnitError(Exception):
    """An in-process unit (an upload) failed; `outcome` classifies it like a script's exit code
    (pipeline.runner.Outcome): TEMPORARY retries with backoff, PERMANENT/AUTH/CONFIG stop."""

    def __init__(self, message, *, outcome):
        super().__init__(message)
        self.outcome = outcome


class UnitDeferred(Exception):
    """An in-process unit cannot run before `until` (e.g. the YouTube quota resets at midnight
    Pacific). Not a failure and not an attempt: the task waits and the reconciler resumes it."""

    def __init__(self, reason, *, until):
        super().__init__(reason)
        self.reason, self.until = reason, until


class UnitBusy(Exception):
    """Another live execution is doing this unit's work right now (it holds the upload's lease):
    not a failure and not an attempt. The message comes back once that lease ends, and finds the
    work done or free."""

    def __init__(self, reason, *, until):
        super().__init__(reason)
        self.reason, self.until = reason, until


@dataclass
class UnitSpec:
    unit: str
    output: Path
    provider: str
    script: str = ""
    args: list = field(default_factory=list)  # the operator's command line: always passed
    extensions: dict = field(default_factory=dict)  # ours: only to scripts that declare them
    env: dict = field(default_factory=dict)
    estimate: dict = field(default_factory=dict)  # usage expected, for budgets and old scripts
    function: object = None  # an in-process unit (the local upload) instead of a script
    prepare: object = None  # called just before the run (e.g. writes the assembly manifest)
    after: tuple = ()  # units of the same step that must be done first (a reference image)
    inputs: object = None  # what the unit is made from beyond args (the assembly's clip list)
    # Workspace files the unit reads beyond its path arguments (the clips a manifest names): the
    # worker fetches them from the media store into the unit's scratch folder (unit_media.py).
    files: tuple = ()

    @property
    def script_extensions(self):
        """Flags beyond the operator's command line, passed only where declared (runner)."""
        return {"--provider": self.provider, **self.extensions}

    @property
    def script_env(self):
        """The provider travels in the environment too, so it reaches every script (ffmpeg
        units have no provider to choose)."""
        if self.provider == "ffmpeg":
            return dict(self.env)
        return {**self.env, "VIDEOGEN_PROVIDER": self.provider}

    @property
    def slot(self):
        """The concurrency cap this unit counts against: its provider's (FFmpeg's for local
        work)."""
        return self.provider
