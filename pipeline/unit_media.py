"""Where a unit's script runs and how its files travel (pipeline/units.py calls it).

With the local folder as the media store (one machine), a unit runs in the workspace as it always
did. With a bucket, processes share no disk, so a unit runs in a scratch folder of its own:

1. its input files (the path arguments its step builds, plus UnitSpec.files) are fetched from the
   store through the worker's cache (core/media_cache.py) to the same workspace-relative places
   under the scratch folder; a file its `prepare` writes (the assembly's manifest) is copied
   there with its workspace paths turned into the scratch folder's;
2. the paid leftovers of earlier attempts, on whatever worker they ran, are fetched too: the
   scripts keep a paid raw output (`<stem>.raw<suffix>` and its request record) or a provider's
   task id (`<stem>.kie-task.json`) beside the output, and start from them instead of paying again;
3. the unchanged script runs with every path pointing into the scratch folder; while it runs,
   each heartbeat stores those leftovers as they appear, so a worker killed mid-call leaves them
   where any other worker finds them;
4. its output is validated there and stored under its key before the unit is recorded done:
   "done" is the work ledger plus the stored object. An attempt that failed stores its leftovers
   before the failure is recorded.

The scratch folder is removed when the unit is recorded.
"""

import contextlib
import dataclasses
import json
import shutil
import time
import uuid
from pathlib import Path

import structlog
from django.conf import settings

from core.media_cache import media_cache
from core.media_store import MediaStoreError, media_key, media_store
from pipeline.media import output_valid
from pipeline.paths import workspace_root
from pipeline.runner import Outcome, ScriptResult

log = structlog.get_logger(__name__)


class UnitInputMissing(Exception):
    """A file the unit is made from is not in the store (pruned, or never made)."""


def output_stored(spec):
    """Whether the unit's output is done. In the local folder: a valid file at its path (a script
    writes atomically, but an operator's might not). In a bucket: the object exists, because an
    output is stored only after it was validated, and an object is never visible half-written."""
    store = media_store()
    if store.shares_disk:
        return output_valid(spec.output)
    return store.exists(media_key(spec.output))


def output_made(spec):
    """Whether a run made its output: a script's is checked where it ran (the workspace, or the
    scratch folder before it is stored); an in-process unit (an upload) writes to the store."""
    if spec.function:
        return output_stored(spec)
    return output_valid(spec.output)


def input_files(spec):
    """The workspace files a unit is made from: the path arguments its step built (a Path, not a
    prompt that happens to look like one), and the files it declares beyond them."""
    root = workspace_root()
    found = []
    for value in [*spec.args[1::2], *spec.files]:
        if isinstance(value, Path) and value != spec.output and root in value.parents:
            if value not in found:
                found.append(value)
    return found


def _side_files_of(output_name, names):
    """The leftovers a script keeps beside output_name (`<stem>.raw.mp4`, `<stem>.kie-task.json`):
    names that start with its stem and a dot; not the output, not a hidden temporary file."""
    stem = Path(output_name).stem + "."
    return [
        name
        for name in names
        if name.startswith(stem) and name != output_name and not name.startswith(".")
    ]


@dataclasses.dataclass
class UnitFolder:
    spec: object  # the UnitSpec as it runs here (its paths inside `root`)
    original: object  # the UnitSpec with workspace paths
    root: Path
    scratch: bool
    moved_bytes: int = 0  # fetched and stored, for the log line (and bench/media_store.py)
    moved_seconds: float = 0.0
    moved_spans: list = dataclasses.field(default_factory=list)  # (start, end) wall clock
    _pushed: dict = dataclasses.field(default_factory=dict)

    @property
    def output_key(self):
        return media_key(self.original.output)

    def _folder_key(self):
        return self.output_key.rsplit("/", 1)[0]

    def side_files_local(self):
        folder = self.spec.output.parent
        if not folder.is_dir():
            return []
        names = _side_files_of(self.spec.output.name, [p.name for p in folder.iterdir()])
        return [folder / name for name in names]

    def side_files_stored(self):
        store = media_store()
        folder = self._folder_key()
        keys = {
            key.rsplit("/", 1)[-1]: key
            for key, _ in store.keys(folder)
            if key.rsplit("/", 1)[0] == folder  # beside the output, not in a folder below it
        }
        return [keys[name] for name in _side_files_of(self.spec.output.name, keys)]

    def fetch_side_files(self):
        store = media_store()
        for key in self.side_files_stored():
            target = self.root / key
            self.moved_bytes += media_cache().fetch_to(store, key, target)
            self._pushed[target.name] = _signature(target)
            log.info("unit_leftover_fetched", key=key)

    def push_side_files(self):
        """Store the leftovers that are new or changed since the last push (a heartbeat)."""
        store = media_store()
        for path in self.side_files_local():
            signature = _signature(path)
            if signature is None or self._pushed.get(path.name) == signature:
                continue
            key = f"{self._folder_key()}/{path.name}"
            store.put_file(key, path)
            self.moved_bytes += signature[0]
            self._pushed[path.name] = signature
            log.info("unit_leftover_stored", key=key)

    def delete_stale_side_files(self):
        """After the output is stored: the leftovers the script removed go from the store too
        (a later request for the same output must never inherit them)."""
        store = media_store()
        present = {path.name for path in self.side_files_local()}
        for key in self.side_files_stored():
            if key.rsplit("/", 1)[-1] not in present:
                store.delete(key)

    @contextlib.contextmanager
    def moving(self):
        started, wall = time.monotonic(), time.time()
        try:
            yield
        finally:
            self.moved_seconds += time.monotonic() - started
            self.moved_spans.append((round(wall, 3), round(time.time(), 3)))

    def heartbeat(self, renew):
        """The lease heartbeat, storing the script's leftovers as it goes."""
        if not self.scratch:
            return renew

        def beat():
            try:
                with self.moving():
                    self.push_side_files()
            except (MediaStoreError, OSError) as error:
                log.warning("unit_leftover_not_stored", error=str(error)[:300])
            return renew()

        return beat

    def finish(self, result):
        """Store the output (when the script succeeded and it is valid) and the leftovers, before
        the result is recorded; a failure to store becomes a temporary failure of the unit."""
        if not self.scratch:
            return result
        store = media_store()
        try:
            with self.moving():
                if result.ok and output_valid(self.spec.output):
                    stored = store.put_file(self.output_key, self.spec.output)
                    self.moved_bytes += self.spec.output.stat().st_size
                    if stored and stored.size == self.spec.output.stat().st_size:
                        media_cache().adopt(self.output_key, stored, self.spec.output)
                    self.push_side_files()
                    self.delete_stale_side_files()
                else:
                    self.push_side_files()
        except (MediaStoreError, OSError) as error:
            log.warning("unit_output_not_stored", error=str(error)[:300])
            paid = {"usage": result.usage, "paid": True} if result.ok and result.usage else {}
            line = {"ok": False, "error": f"storing the output: {error}", **paid}
            return ScriptResult(
                script=result.script,
                exit_code=75,
                outcome=Outcome.TEMPORARY,
                error=f"{self.output_key}: could not be stored: {error}"[:2000],
                stderr_tail=json.dumps(line),
                seconds=result.seconds,
            )
        return result


def _signature(path):
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_size, info.st_mtime_ns)


def _relocate(value, root):
    if isinstance(value, Path):
        workspace = workspace_root()
        if workspace in value.parents:
            return root / value.relative_to(workspace)
    return value


@contextlib.contextmanager
def unit_folder(spec):
    """The folder a unit runs in, with its inputs in place (see the module's docstring). Raises
    UnitInputMissing when an input is not in the store."""
    store = media_store()
    if store.shares_disk or spec.function:
        # In-process units (an upload) read and write through the store themselves.
        if spec.prepare:
            spec.prepare()
        yield UnitFolder(spec=spec, original=spec, root=workspace_root(), scratch=False)
        return
    root = Path(settings.MEDIA_SCRATCH_DIR) / f"{spec.unit}-{uuid.uuid4().hex[:12]}"
    root.mkdir(parents=True)
    folder = None
    try:
        if spec.prepare:
            spec.prepare()  # writes into this worker's own workspace folder
        relocated = dataclasses.replace(
            spec,
            output=_relocate(spec.output, root),
            args=[_relocate(value, root) for value in spec.args],
        )
        folder = UnitFolder(spec=relocated, original=spec, root=root, scratch=True)
        with folder.moving():
            _fetch_inputs(store, spec, root, folder)
            folder.fetch_side_files()
        yield folder
    finally:
        if folder is not None:
            log.info(
                "unit_media_moved",
                bytes=folder.moved_bytes,
                seconds=round(folder.moved_seconds, 3),
                spans=folder.moved_spans,
            )
        shutil.rmtree(root, ignore_errors=True)


def _fetch_inputs(store, spec, root, folder):
    for path in input_files(spec):
        key = media_key(path)
        target = root / key
        if store.exists(key):
            folder.moved_bytes += media_cache().fetch_to(store, key, target)
        elif path.is_file():
            # Written by prepare (the manifest): it names workspace paths, which here are the
            # scratch folder's.
            target.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text(encoding="utf-8")
            target.write_text(text.replace(str(workspace_root()), str(root)), "utf-8")
        else:
            raise UnitInputMissing(f"{key}: not in the {store.describe()}")


def scratch_clear_stale():
    """Remove what killed runs left: scratch folders older than the longest a unit may run (the
    hard time limit; another worker sharing the disk may still be running a younger one), and the
    cache's half-written downloads. Called when a worker starts."""
    limit = settings.PIPELINE_STEP_HARD_LIMIT
    cutoff = time.time() - limit
    scratch = Path(settings.MEDIA_SCRATCH_DIR)
    removed = 0
    if scratch.is_dir():
        for folder in scratch.iterdir():
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            except FileNotFoundError:
                continue
    media_cache().clear_stale_temporaries(older_than_seconds=limit)
    return removed
