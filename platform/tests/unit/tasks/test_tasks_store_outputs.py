import os
import time

import pytest

from latte.tasks.digests import DigestMemo
from latte.tasks.outputs import (
    entry_is_valid,
    outputs_intact,
    records_are_valid,
    remove_outputs,
    restore_outputs,
    snapshot_outputs,
)
from latte.tasks.store import LocalCache, referenced_blobs


def make_outputs(root):
    (root / "build/d/sub").mkdir(parents=True)
    (root / "build/d/empty").mkdir()
    (root / "build/d/sub/f.txt").write_text("f")
    (root / "build/d/run.sh").write_text("#!/bin/sh\n")
    (root / "build/d/run.sh").chmod(0o755)
    (root / "build/d/link").symlink_to("sub/f.txt")
    (root / "build/single.bin").write_bytes(b"\x00\x01")


def test_snapshot_restore_round_trip_is_byte_identical(tmp_path):
    root = tmp_path / "repo"
    make_outputs(root)
    store = LocalCache(tmp_path / "cache")
    memo = DigestMemo(root, tmp_path / "memo.json")
    records = snapshot_outputs(root, ["build/d", "build/single.bin"], store, memo)
    assert outputs_intact(root, records, memo)
    remove_outputs(root, ["build/d", "build/single.bin"])
    assert not outputs_intact(root, records, memo)
    assert restore_outputs(root, records, store.fetch_blob)
    assert (root / "build/d/sub/f.txt").read_text() == "f"
    assert os.access(root / "build/d/run.sh", os.X_OK)
    assert (root / "build/d/empty").is_dir()
    assert os.readlink(root / "build/d/link") == "sub/f.txt"
    assert (root / "build/single.bin").read_bytes() == b"\x00\x01"
    assert outputs_intact(root, records, memo)
    (root / "build/d/extra").write_text("stray")
    assert not outputs_intact(root, records, memo)


def test_restore_with_a_corrupt_blob_changes_nothing(tmp_path):
    root = tmp_path / "repo"
    make_outputs(root)
    store = LocalCache(tmp_path / "cache")
    records = snapshot_outputs(root, ["build/d"], store, DigestMemo(root, tmp_path / "m.json"))
    digest = records[0]["files"][0]["digest"]
    store.blob_path(digest).write_text("corrupt")
    (root / "build/d/sub/f.txt").write_text("current")
    assert not restore_outputs(root, records, store.fetch_blob)
    assert (root / "build/d/sub/f.txt").read_text() == "current"
    assert not [p for p in (root / "build").iterdir() if "latte-restore" in p.name]


def test_entries_stats_and_prune(tmp_path):
    store = LocalCache(tmp_path / "cache")
    keep = store.put_bytes(b"keep")
    drop = store.put_bytes(b"drop")
    assert store.put_bytes(b"keep") == keep
    store.put_entry("k1", {"key": "k1", "stdout": keep, "outputs": []})
    store.put_entry("k2", {"key": "k2", "stdout": drop, "outputs": []})
    assert store.get_entry("k1")["stdout"] == keep
    assert store.get_entry("missing") is None
    assert store.stats() == {"entries": 2, "blobs": 2, "bytes": 8}
    old = time.time() - 30 * 86400
    entry = store.entry_path("k2")
    os.utime(entry, (old, old))
    assert store.prune(older_than_days=14) == {"entries": 1, "blobs": 1, "bytes": 4}
    assert store.read_blob(keep) == b"keep"
    assert store.read_blob(drop) is None
    assert store.prune(older_than_days=0) == {"entries": 1, "blobs": 1, "bytes": 4}


def test_remember_and_referenced_blobs(tmp_path):
    store = LocalCache(tmp_path)
    assert store.last_key("p--a") is None
    store.remember("p--a", "abc")
    assert store.last_key("p--a") == "abc"
    entry = {
        "stdout": "s",
        "stderr": "",
        "outputs": [{"kind": "file", "digest": "f"}, {"kind": "dir", "files": [{"digest": "d"}]}],
    }
    assert sorted(referenced_blobs(entry)) == ["d", "f", "s"]


GOOD = "a" * 64


@pytest.mark.parametrize(
    ("records", "valid"),
    [
        ([{"path": "build/x", "kind": "file", "digest": GOOD}], True),
        ([{"path": "build/x", "kind": "dir", "files": [], "dirs": [], "links": []}], True),
        ([{"path": "elsewhere", "kind": "file", "digest": GOOD}], False),
        ([{"path": "build/x", "kind": "file", "digest": "../../etc/passwd"}], False),
        ([{"path": "build/x", "kind": "pipe"}], False),
        (
            [
                {
                    "path": "build/x",
                    "kind": "dir",
                    "files": [{"path": "../up", "digest": GOOD}],
                    "dirs": [],
                    "links": [],
                }
            ],
            False,
        ),
        ([{"path": "build/x", "kind": "dir", "files": [], "dirs": ["/abs"], "links": []}], False),
        (
            [
                {
                    "path": "build/x",
                    "kind": "dir",
                    "files": [],
                    "dirs": [],
                    "links": [{"path": "l", "to": "/etc"}],
                }
            ],
            False,
        ),
        ([{"path": "build/x", "kind": "dir", "files": {}, "dirs": [], "links": []}], False),
        ("not a list", False),
    ],
)
def test_untrusted_records_cannot_write_outside_their_outputs(records, valid):
    assert records_are_valid(records, ["build/x"]) is valid


def test_entry_log_digests_are_checked():
    records = [{"path": "build/x", "kind": "file", "digest": GOOD}]
    assert entry_is_valid({"outputs": records, "stdout": GOOD, "stderr": ""}, ["build/x"])
    assert not entry_is_valid({"outputs": records, "stdout": "../x"}, ["build/x"])
