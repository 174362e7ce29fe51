"""What both media store backends share: keys, the stat of an object, the store's errors, and
what follows from a backend's own operations (exists, size, the probe)."""

import functools
import os
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

CHUNK_BYTES = 1024 * 1024


class MediaKeyError(ValueError):
    """A key that is not a plain workspace-relative path (absolute, '..', empty)."""


class MediaStoreError(Exception):
    """The store failed (unreachable, refused, missing bucket); the message names the cause."""


@dataclass(frozen=True)
class MediaStat:
    size: int
    etag: str  # changes whenever the content may have (S3's ETag; size and mtime locally)
    modified: object = None  # aware datetime of the last write


def workspace_root():
    """WORKSPACE_ROOT resolved (links followed): the folder every media key is relative to."""
    return _resolved(str(settings.WORKSPACE_ROOT))


@functools.lru_cache(maxsize=8)
def _resolved(root):
    # Resolving walks every component with a system call; every unit's paths and keys start
    # here, and building one step's paths for a unit resolved it ~80 times.
    return Path(root).resolve()


def media_key(path_or_key):
    """The store key of a workspace path (absolute, inside WORKSPACE_ROOT) or of a key already."""
    text = str(path_or_key)
    root = str(workspace_root())
    if text.startswith(root + os.sep):
        text = text[len(root) + 1 :]
    elif os.path.isabs(text):
        raise MediaKeyError(f"{text!r} is outside the workspace {root}")
    key = PurePosixPath(text.replace(os.sep, "/"))
    if not key.parts or any(part in ("", ".", "..") for part in key.parts) or "\x00" in text:
        raise MediaKeyError(f"{text!r} is not a workspace-relative media path")
    return key.as_posix()


PROBE_BYTES = b"videogen media store probe"


class MediaStoreBase:
    """exists, size and the probe, from a backend's stat, put_bytes, read_bytes and delete."""

    def exists(self, key):
        return self.stat(key) is not None

    def size(self, key):
        found = self.stat(key)
        if found is None:
            raise FileNotFoundError(key)
        return found.size

    def probe(self):
        """Write, read back and delete a small object; raises MediaStoreError naming the cause."""
        key = f".probe/{uuid.uuid4().hex}"
        try:
            self.put_bytes(key, PROBE_BYTES)
            if self.read_bytes(key) != PROBE_BYTES:
                raise MediaStoreError(f"{self.describe()}: the probe read back other bytes")
            self.delete(key)
        except OSError as error:
            raise MediaStoreError(f"{self.describe()}: probe: {error}") from error
