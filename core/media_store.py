"""The media store: every read and write of media (assets, composites, clips, narration, sound
effects, finals, rejected cuts, published files) goes through it, keyed by the workspace-relative
path pipeline/paths.py builds ("channels/<channel>/projects/<task>/videos/s1.mp4").

Two backends behind one switch (settings.MEDIA_BUCKET_NAME):
- LocalStore: the folder WORKSPACE_ROOT, the embedded default and one machine's deployment; a key
  is the file at that path, so `make demo` and an operator's scripts see what they always saw;
- BucketStore (core/media_bucket.py): an S3-compatible bucket, through django-storages and boto3,
  for processes that share nothing but PostgreSQL, Redis and the bucket.

Writes are whole or absent: the local store writes a temporary file and renames it; a bucket makes
an object visible only once its PUT (or multipart upload) completed. So a reader never sees half
an object, and a crash mid-upload leaves the key as it was.
"""

import datetime as dt
import os
import shutil
import threading
import uuid
from pathlib import Path

from django.conf import settings

from core.media_bucket import BucketStore
from core.media_keys import (
    CHUNK_BYTES,
    MediaKeyError,
    MediaStat,
    MediaStoreBase,
    MediaStoreError,
    media_key,
)

__all__ = [
    "BucketStore",
    "LocalStore",
    "MediaKeyError",
    "MediaStat",
    "MediaStoreError",
    "media_key",
    "media_store",
    "media_text",
    "media_text_put",
]


class LocalStore(MediaStoreBase):
    """The folder WORKSPACE_ROOT as the store: the file at <root>/<key> is the object."""

    kind = "local"
    shares_disk = True  # units may run in the workspace itself; nothing to fetch or store

    def __init__(self, root=None):
        self._root = Path(root).resolve() if root else None

    @property
    def root(self):
        # WORKSPACE_ROOT as it is now (tests and commands may point it elsewhere after start-up).
        return self._root or Path(settings.WORKSPACE_ROOT).resolve()

    def describe(self):
        return f"local folder {self.root}"

    def path(self, key):
        return self.root / media_key(key)

    def local_path(self, key):
        """The file behind a key (local store only): scripts may read it where it lies."""
        return self.path(key)

    def stat(self, key):
        try:
            info = self.path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not os.path.isfile(self.path(key)):
            return None
        return MediaStat(
            size=info.st_size,
            etag=f"{info.st_size}-{info.st_mtime_ns}",
            modified=dt.datetime.fromtimestamp(info.st_mtime, tz=dt.UTC),
        )

    def put_file(self, key, source):
        target = self.path(key)
        if Path(source).resolve() != target.resolve():  # a unit that ran in the workspace itself
            _write_atomically(target, lambda temporary: shutil.copyfile(source, temporary))
        return self.stat(key)

    def put_bytes(self, key, data):
        _write_atomically(self.path(key), lambda temporary: temporary.write_bytes(data))
        return self.stat(key)

    def get_to_file(self, key, destination):
        """Copy the object to destination (atomically); returns its MediaStat."""
        found = self.stat(key)
        if found is None:
            raise FileNotFoundError(key)
        _copy_atomically(self.path(key), Path(destination))
        return found

    def read_bytes(self, key):
        return self.path(key).read_bytes()

    def chunks(self, key, start=0, length=None, chunk_bytes=CHUNK_BYTES):
        """The object's bytes from start, length of them (all when None), in chunks."""
        with open(self.path(key), "rb") as stream:
            stream.seek(start)
            remaining = length
            while remaining is None or remaining > 0:
                data = stream.read(
                    chunk_bytes if remaining is None else min(chunk_bytes, remaining)
                )
                if not data:
                    return
                if remaining is not None:
                    remaining -= len(data)
                yield data

    def copy(self, source_key, target_key):
        target = self.path(target_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_atomically(self.path(source_key), target)

    def move(self, source_key, target_key):
        """Rename an object (a final cut kept as a rejected cut); nothing when it is gone."""
        target = self.path(target_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(self.path(source_key), target)
        except FileNotFoundError:
            pass

    def delete(self, key):
        """Delete the object; True when it was there."""
        try:
            self.path(key).unlink()
            return True
        except FileNotFoundError:
            return False

    def keys(self, prefix=""):
        """Every key under prefix (a folder key), with its size: (key, size) pairs."""
        base = self.root / media_key(prefix) if prefix else self.root
        if not base.is_dir():
            return
        for folder, _, files in os.walk(base):
            for name in files:
                if name.startswith("."):  # temporary files of writes in flight
                    continue
                path = Path(folder) / name
                try:
                    size = path.stat().st_size
                except FileNotFoundError:
                    continue
                yield path.relative_to(self.root).as_posix(), size


def _copy_atomically(source, destination):
    _write_atomically(destination, lambda temporary: shutil.copyfile(source, temporary))


def _write_atomically(target, write):
    """write(temporary) beside target, then one rename: a reader sees the old file or the new."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


_stores = {}
_stores_lock = threading.Lock()


def _bucket_settings():
    return (
        settings.MEDIA_BUCKET_NAME,
        settings.MEDIA_BUCKET_ENDPOINT_URL,
        settings.MEDIA_BUCKET_REGION,
        settings.MEDIA_BUCKET_ACCESS_KEY_ID,
        settings.MEDIA_BUCKET_SECRET_ACCESS_KEY,
    )


def media_store():
    """The store the settings name: the bucket when MEDIA_BUCKET_NAME is set, else the local
    folder. One bucket client per configuration and process (boto3 clients are thread-safe)."""
    if not settings.MEDIA_BUCKET_NAME:
        return LocalStore()
    configuration = _bucket_settings()
    with _stores_lock:
        store = _stores.get(configuration)
        if store is None:
            store = _stores[configuration] = BucketStore(*configuration)
        return store


def media_text(path_or_key):
    """A small text object (a cut record, a report, captions) from the store, or None when it is
    not there or cannot be read: the readers of such files all treat a missing one as absent."""
    try:
        return media_store().read_bytes(media_key(path_or_key)).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError, MediaStoreError, UnicodeDecodeError):
        return None


def media_text_put(path_or_key, text):
    """Store a small text object whole (its readers may be on another machine)."""
    return media_store().put_bytes(media_key(path_or_key), text.encode("utf-8"))
