"""The shared storage layer: concurrent writers of one blob, partials swept, verified reads."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from latte.atomic import TEMP_PREFIX
from latte.cas import fetch_checked
from latte.objects import STALE_PARTIAL_S, FolderStore, ObjectMissingError
from latte.tasks.store import LocalCache

BLOB = os.urandom(4 << 20)  # big enough that writes of it overlap
DIGEST = hashlib.sha256(BLOB).hexdigest()


def _write_same_blob(cache_dir: str, source: str, rounds: int) -> None:
    # a spawned child imports this module afresh (another BLOB): it works from the file
    cache, data = LocalCache(Path(cache_dir)), Path(source).read_bytes()
    for _ in range(rounds):
        digest = cache.put_bytes(data)
        # a writer that finds it present must see it whole, too
        assert cache.read_blob(digest) == data


def _assert_one_whole_blob(cache_dir: Path) -> None:
    cache = LocalCache(cache_dir)
    assert cache.read_blob(DIGEST) == BLOB
    leftovers = [p.name for p in (cache_dir / "cas").rglob("*") if p.is_file()]
    assert leftovers == [DIGEST]  # no temp file of any writer is left behind


def test_threads_writing_the_same_blob_leave_one_whole_blob(tmp_path):
    cache = LocalCache(tmp_path / "cache")
    (tmp_path / "blob").write_bytes(BLOB)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer() -> None:
        try:
            start.wait()
            for _ in range(3):
                cache.put_blob(DIGEST, tmp_path / "blob")
                cache.put_bytes(BLOB)
                out = tmp_path / f"out-{threading.get_ident()}"
                assert cache.fetch_blob(DIGEST, out)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_one_whole_blob(tmp_path / "cache")


def test_processes_writing_the_same_blob_leave_one_whole_blob(tmp_path):
    (tmp_path / "blob").write_bytes(BLOB)
    context = multiprocessing.get_context("spawn")
    args = (str(tmp_path / "cache"), str(tmp_path / "blob"), 3)
    workers = [context.Process(target=_write_same_blob, args=args) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    _assert_one_whole_blob(tmp_path / "cache")


def test_a_failed_copy_leaves_no_temp_file(tmp_path):
    store = FolderStore(tmp_path / "store")
    (tmp_path / "store" / "k").mkdir(parents=True)
    with pytest.raises(FileNotFoundError):
        store.put_file("k/blob", tmp_path / "no-such-source")
    assert list((tmp_path / "store" / "k").iterdir()) == []


def test_stale_partials_are_swept_and_fresh_ones_kept(tmp_path):
    folder = tmp_path / "store" / "blobs"
    folder.mkdir(parents=True)
    stale, fresh = folder / f"{TEMP_PREFIX}a.x", folder / f"{TEMP_PREFIX}b.y"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written right now")
    old = time.time() - STALE_PARTIAL_S - 60
    os.utime(stale, (old, old))
    store = FolderStore(tmp_path / "store")
    assert store.list_keys("blobs") == []  # partial writes are never objects
    store.put_bytes("blobs/whole", b"1")
    assert sorted(p.name for p in folder.iterdir()) == sorted([fresh.name, "whole"])


def test_a_corrupt_blob_is_removed_after_the_read_and_a_missing_one_raises(tmp_path):
    store = FolderStore(tmp_path / "store")
    store.put_bytes("k", b"tampered")
    dest = tmp_path / "out"
    assert fetch_checked(store, "k", DIGEST, dest) == hashlib.sha256(b"tampered").hexdigest()
    assert not dest.exists()
    with pytest.raises(ObjectMissingError, match="artifact 'nope' is missing"):
        fetch_checked(store, "nope", DIGEST, dest)
