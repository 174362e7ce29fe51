"""A worker's local copies of the store's objects, so a clip made from an asset another unit
fetched a minute ago is not downloaded again.

Keyed by object name and ETag: a new version of an object (a redo) has another ETag, so a stale
copy is never served; the old one ages out. Bounded (MEDIA_CACHE_MAX_BYTES): after each fetch the
least recently used copies are deleted until the cache fits. Safe for many threads (one download
per key at a time in a process: the others wait for it) and for many processes on one disk
(each download goes to a temporary file renamed into place, so a copy is whole or absent).
Callers get a hard link (or a copy) of the cached file in their own folder, so eviction never
pulls a file from under a running script.
"""

import hashlib
import os
import shutil
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import structlog
from django.conf import settings

from core.media_store import media_store

log = structlog.get_logger(__name__)


class MediaCache:
    def __init__(self, root=None, max_bytes=None):
        self.root = Path(root or settings.MEDIA_CACHE_DIR)
        self.max_bytes = max_bytes if max_bytes is not None else settings.MEDIA_CACHE_MAX_BYTES
        self._locks = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()
        self._evict_lock = threading.Lock()
        self.downloads = 0  # how many fetches went to the store (for tests and the bench)
        self.bytes_downloaded = 0

    def _entry(self, key, etag):
        digest = hashlib.sha256(f"{key}\0{etag}".encode()).hexdigest()
        return self.root / digest[:2] / f"{digest}{Path(key).suffix}"

    def _lock(self, entry):
        with self._locks_guard:
            return self._locks[entry.name]

    def fetch(self, store, key):
        """The cached file of the object's current version (downloaded when missing). Raises
        FileNotFoundError when the store has no such object."""
        return self._fetch(store, key)[0]

    def _fetch(self, store, key):
        """(cached file, bytes downloaded for it now: 0 when it was in the cache)."""
        stat = store.stat(key)
        if stat is None:
            raise FileNotFoundError(key)
        entry = self._entry(key, stat.etag)
        with self._lock(entry):
            if entry.exists():
                os.utime(entry)  # the LRU order is the files' modification times
                return entry, 0
            entry.parent.mkdir(parents=True, exist_ok=True)
            temporary = entry.with_name(f".{entry.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
            got = store.get_to_file(key, temporary)
            if got.etag != stat.etag:
                # Replaced between the stat and the read: file it under the version it is.
                entry = self._entry(key, got.etag)
                entry.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, entry)
            self.downloads += 1
            self.bytes_downloaded += got.size
        self.evict(keep=entry)
        return entry, got.size

    def adopt(self, key, stat, source):
        """Keep a file this process just stored as the cached copy of that version (a hard link,
        or a copy across file systems): the next unit on this worker that reads it, most often
        the very next step, finds it here instead of downloading it again."""
        entry = self._entry(key, stat.etag)
        with self._lock(entry):
            if entry.exists():
                return entry
            entry.parent.mkdir(parents=True, exist_ok=True)
            temporary = entry.with_name(f".{entry.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
            try:
                os.link(source, temporary)
            except OSError:
                shutil.copyfile(source, temporary)
            os.replace(temporary, entry)
        self.evict(keep=entry)
        return entry

    def fetch_to(self, store, key, destination):
        """Put the object's current version at destination (a hard link to the cached copy, a
        copy across file systems); returns the bytes downloaded for it (0 from the cache)."""
        entry, downloaded = self._fetch(store, key)
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.unlink(missing_ok=True)
        try:
            os.link(entry, destination)
        except OSError:
            shutil.copyfile(entry, destination)
        return downloaded

    def size(self):
        return sum(size for _, size, _ in self._entries())

    def _entries(self):
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.name.startswith("."):
                    continue
                try:
                    info = path.stat()
                except FileNotFoundError:  # evicted by another process meanwhile
                    continue
                found.append((info.st_mtime, info.st_size, path))
        return found

    def evict(self, keep=None):
        """Delete the least recently used copies until the cache fits in max_bytes (never
        `keep`, the copy just asked for)."""
        with self._evict_lock:
            entries = sorted(self._entries())
            total = sum(size for _, size, _ in entries)
            for _, size, path in entries:
                if total <= self.max_bytes:
                    break
                if keep is not None and path == keep:
                    continue
                path.unlink(missing_ok=True)
                total -= size
            return total

    def clear_stale_temporaries(self, older_than_seconds=3600):
        """Downloads a killed process left half-written (never renamed into place)."""
        cutoff = time.time() - older_than_seconds
        if not self.root.is_dir():
            return
        for path in self.root.glob("*/.*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                continue


_cache = None
_cache_guard = threading.Lock()


def media_cache():
    """The process's cache (one per process: its per-key locks are what keep threads from
    downloading the same object twice)."""
    global _cache
    with _cache_guard:
        if _cache is None or _cache.root != Path(settings.MEDIA_CACHE_DIR):
            _cache = MediaCache()
        return _cache


def media_local_copy(key):
    """A local file holding the object (for a reader that needs a path: PyAV, Pillow): the file
    itself in the local folder, the cached copy of a bucket's object. Raises FileNotFoundError."""
    store = media_store()
    path = store.local_path(key)
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(key)
        return path
    return media_cache().fetch(store, key)
