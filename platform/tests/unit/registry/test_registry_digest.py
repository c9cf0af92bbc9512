"""The tree digest is exactly what README.md documents, and odd trees are refused."""

from __future__ import annotations

import hashlib

import pytest

from latte.registry import IntegrityError, InvalidInputError, check_digest, tree_digest
from latte.registry.digest import Manifest, file_sha256, hash_tree


def _documented(root):
    digest = hashlib.sha256()
    for rel in sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()):
        digest.update(rel.encode("utf-8") + b"\0")
        digest.update((root / rel).read_bytes())
    return "sha256:" + digest.hexdigest()


def _tree(root, files):
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_the_digest_follows_the_documented_algorithm(tmp_path):
    root = _tree(tmp_path / "m", {"config.pbtxt": b"x", "1/model.onnx": b"y" * 3_000_000})
    assert tree_digest(root) == _documented(root)
    manifest = hash_tree(root)
    assert [(f.path, f.size) for f in manifest.files] == [
        ("1/model.onnx", 3_000_000),
        ("config.pbtxt", 1),
    ]
    assert manifest.files[1].sha256 == hashlib.sha256(b"x").hexdigest()
    assert file_sha256(root / "config.pbtxt") == manifest.files[1].sha256


def test_renaming_or_editing_a_file_changes_the_digest(tmp_path):
    base = tree_digest(_tree(tmp_path / "a", {"1/m": b"x"}))
    assert tree_digest(_tree(tmp_path / "b", {"2/m": b"x"})) != base
    assert tree_digest(_tree(tmp_path / "c", {"1/m": b"z"})) != base
    assert tree_digest(_tree(tmp_path / "d", {"1/m": b"x"})) == base


def test_odd_trees_are_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        tree_digest(tmp_path / "missing")
    (tmp_path / "empty" / "1").mkdir(parents=True)
    with pytest.raises(InvalidInputError, match="holds no files"):
        tree_digest(tmp_path / "empty")
    root = _tree(tmp_path / "link", {"a": b"x"})
    (root / "b").symlink_to(root / "a")
    with pytest.raises(InvalidInputError, match="is a symlink"):
        tree_digest(root)


@pytest.mark.parametrize("value", ["sha256:12", "md5:" + "0" * 64, "sha256:" + "A" * 64, ""])
def test_malformed_digests_are_refused(value):
    with pytest.raises(InvalidInputError, match="malformed digest"):
        check_digest(value)


def test_manifests_round_trip_and_corruption_is_named(tmp_path):
    manifest = hash_tree(_tree(tmp_path / "m", {"a": b"1"}))
    assert Manifest.from_json(manifest.to_json(), where="x") == manifest
    with pytest.raises(IntegrityError, match="manifest trees/x is corrupt"):
        Manifest.from_json(b"{not json", where="trees/x")
    with pytest.raises(IntegrityError, match="corrupt"):
        Manifest.from_json(b'{"digest": "sha256:1", "files": []}', where="trees/x")
