"""The media store (core/media_store.py) behaves the same on both backends, the local folder and a
bucket on an S3-compatible server on 127.0.0.1; the cache (core/media_cache.py) fetches each
version once however many threads ask, stays within its bound and never serves a stale version."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.media_cache import MediaCache
from core.media_store import MediaKeyError, media_key, media_store
from pipeline.unit_media import scratch_clear_stale
from tests.stack import ROOT

KEY = "channels/poke/projects/t1/videos/s1.mp4"


@pytest.fixture(params=["local", "bucket"])
def store(request, workspace, settings):
    settings.MEDIA_BUCKET_NAME = ""
    if request.param == "bucket":
        request.getfixturevalue("media_bucket")
    found = media_store()
    assert found.kind == request.param
    return found


def test_it_writes_reads_and_deletes_an_object_by_its_workspace_relative_key(store, tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"x" * 3000)

    stat = store.put_file(KEY, source)

    assert stat.size == 3000 and stat.etag and stat.modified is not None
    assert store.exists(KEY) and store.size(KEY) == 3000
    assert store.read_bytes(KEY) == b"x" * 3000
    assert store.delete(KEY) is True
    assert not store.exists(KEY) and store.stat(KEY) is None


def test_it_reads_a_byte_range_in_chunks(store):
    data = bytes(range(256)) * 40
    store.put_bytes(KEY, data)

    chunks = list(store.chunks(KEY, 100, 1000, chunk_bytes=300))

    assert b"".join(chunks) == data[100:1100]
    assert max(len(chunk) for chunk in chunks) <= 300
    assert b"".join(store.chunks(KEY)) == data


def test_it_downloads_to_a_file_atomically_and_says_which_version_it_read(store, tmp_path):
    store.put_bytes(KEY, b"first")
    target = tmp_path / "out" / "clip.mp4"

    stat = store.get_to_file(KEY, target)

    assert target.read_bytes() == b"first" and stat.etag == store.stat(KEY).etag
    assert [p.name for p in target.parent.iterdir()] == ["clip.mp4"]  # no temporary left


def test_it_lists_keys_under_a_folder_with_their_sizes(store):
    store.put_bytes("channels/poke/projects/t1/assets/a.png", b"aa")
    store.put_bytes("channels/poke/projects/t1/videos/s1.mp4", b"vvv")
    store.put_bytes("channels/poke/projects/t2/videos/s1.mp4", b"other task")

    listed = dict(store.keys("channels/poke/projects/t1"))

    assert listed == {
        "channels/poke/projects/t1/assets/a.png": 2,
        "channels/poke/projects/t1/videos/s1.mp4": 3,
    }


def test_it_copies_and_moves_objects_within_the_store(store):
    store.put_bytes(KEY, b"final cut")

    store.copy(KEY, "channels/poke/published/t1.mp4")
    store.move(KEY, "channels/poke/projects/t1/rejected/final-1.mp4")

    assert store.read_bytes("channels/poke/published/t1.mp4") == b"final cut"
    assert store.read_bytes("channels/poke/projects/t1/rejected/final-1.mp4") == b"final cut"
    assert not store.exists(KEY)


def test_its_probe_writes_reads_and_deletes_and_leaves_nothing(store):
    store.probe()

    assert list(store.keys(".probe")) == []


def test_a_missing_object_is_file_not_found(store, tmp_path):
    with pytest.raises(FileNotFoundError):
        store.read_bytes("channels/poke/none.mp4")
    with pytest.raises(FileNotFoundError):
        store.get_to_file("channels/poke/none.mp4", tmp_path / "x")


def test_a_key_outside_the_workspace_is_refused(workspace):
    assert media_key(workspace / "channels" / "a.png") == "channels/a.png"
    for bad in ("/etc/passwd", "../secrets", "channels/../../x", ""):
        with pytest.raises(MediaKeyError):
            media_key(bad)


def test_the_cache_fetches_a_key_once_however_many_threads_ask_at_once(media_bucket, tmp_path):
    store = media_store()
    store.put_bytes(KEY, os.urandom(200_000))
    cache = MediaCache(root=tmp_path / "cache", max_bytes=10**9)
    for round_number in range(5):
        barrier = threading.Barrier(12)
        found, errors = [], []

        def fetch(destination, barrier=barrier, found=found, errors=errors):
            try:
                barrier.wait()
                cache.fetch_to(store, KEY, destination)
                found.append(destination.read_bytes())
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)

        threads = [
            threading.Thread(target=fetch, args=(tmp_path / f"r{round_number}" / f"{n}.mp4",))
            for n in range(12)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        assert len(found) == 12 and len(set(found)) == 1
        assert found[0] == store.read_bytes(KEY)
    assert cache.downloads == 1


def test_the_cache_never_serves_an_old_version_after_the_object_changes(media_bucket, tmp_path):
    store = media_store()
    cache = MediaCache(root=tmp_path / "cache", max_bytes=10**9)
    store.put_bytes(KEY, b"version one")
    assert cache.fetch(store, KEY).read_bytes() == b"version one"

    store.put_bytes(KEY, b"version two, remade")

    assert cache.fetch(store, KEY).read_bytes() == b"version two, remade"
    assert cache.downloads == 2


def test_the_cache_stays_within_its_bound_evicting_the_least_recently_used(media_bucket, tmp_path):
    store = media_store()
    cache = MediaCache(root=tmp_path / "cache", max_bytes=25_000)
    for name in ("a", "b", "c"):
        store.put_bytes(f"channels/p/{name}.png", os.urandom(10_000))
    first = cache.fetch(store, "channels/p/a.png")
    second = cache.fetch(store, "channels/p/b.png")
    os.utime(first, (1, 1))  # a was used long ago...
    os.utime(second, (2, 2))
    cache.fetch(store, "channels/p/a.png")  # ...and now again: b is the least recently used

    cache.fetch(store, "channels/p/c.png")

    assert cache.size() <= 25_000
    assert first.exists() and not second.exists()


def test_a_linked_copy_outlives_its_eviction_from_the_cache(media_bucket, tmp_path):
    store = media_store()
    cache = MediaCache(root=tmp_path / "cache", max_bytes=1)
    store.put_bytes(KEY, b"in use by a running script")
    destination = tmp_path / "scratch" / "s1.mp4"

    cache.fetch_to(store, KEY, destination)
    cache.evict()

    assert destination.read_bytes() == b"in use by a running script"


def test_processes_sharing_one_cache_folder_each_get_the_whole_file(media_bucket, tmp_path):
    store = media_store()
    data = os.urandom(2_000_000)
    store.put_bytes(KEY, data)
    program = (
        "import django, sys; django.setup();"
        "from core.media_cache import MediaCache; from core.media_store import media_store;"
        "cache = MediaCache(root=sys.argv[1], max_bytes=10**9);"
        "print(cache.fetch(media_store(), sys.argv[2]))"
    )
    env = {
        **os.environ,
        **media_bucket,
        "DJANGO_SETTINGS_MODULE": "videogen.settings",
        "LOG_LEVEL": "WARNING",
    }
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", program, str(tmp_path / "cache"), KEY],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    paths = set()
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()[-2000:]
        paths.add(out.decode().strip().splitlines()[-1])

    (path,) = paths
    assert Path(path).read_bytes() == data


def test_a_file_this_process_stored_is_read_from_the_cache_without_a_download(
    media_bucket, tmp_path
):
    store = media_store()
    cache = MediaCache(root=tmp_path / "cache", max_bytes=10**9)
    made = tmp_path / "scratch" / "s1.mp4"
    made.parent.mkdir()
    made.write_bytes(b"a clip this worker made")

    cache.adopt(KEY, store.put_file(KEY, made), made)
    made.unlink()  # the scratch folder goes once the unit is recorded

    assert cache.fetch(store, KEY).read_bytes() == b"a clip this worker made"
    assert cache.downloads == 0


def test_a_worker_start_clears_the_scratch_folders_and_downloads_killed_runs_left(
    media_bucket, settings
):
    scratch = Path(settings.MEDIA_SCRATCH_DIR)
    old, young = scratch / "s1-old", scratch / "s2"
    half = Path(settings.MEDIA_CACHE_DIR) / "ab" / ".abcd.mp4.123-x"
    for folder in (old, young, half.parent):
        folder.mkdir(parents=True)
    half.write_bytes(b"half a download")
    long_ago = 1_000_000
    os.utime(old, (long_ago, long_ago))
    os.utime(half, (long_ago, long_ago))

    assert scratch_clear_stale() == 1

    assert not old.exists() and young.exists() and not half.exists()
