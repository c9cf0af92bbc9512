"""The tree digest is the documented algorithm, and the symlink policy holds."""

from __future__ import annotations

import hashlib

import pytest

from latte_contracts.digest import file_sha256, hash_tree, is_digest, tree_digest, tree_files
from latte_contracts.errors import DigestError


def _tree(root, files):
    """A folder holding ``files`` ({relative path: bytes})."""
    for path, data in ((root / rel, data) for rel, data in files.items()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _documented(root):
    """The algorithm as README.md states it, written out independently of the module."""
    files = sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file())
    stream = b"".join(rel.encode("utf-8") + b"\0" + path.read_bytes() for rel, path in files)
    return "sha256:" + hashlib.sha256(stream).hexdigest()


def test_the_digest_is_the_documented_algorithm(tmp_path):
    root = _tree(tmp_path / "m", {"config.pbtxt": b"x", "1/model.onnx": b"y" * 2_500_000})
    assert tree_digest(root) == _documented(root)
    assert is_digest(tree_digest(root))
    tree = hash_tree(root)
    sizes = [(f.path, f.size) for f in tree.files]
    assert sizes == [("1/model.onnx", 2_500_000), ("config.pbtxt", 1)]
    assert tree.files[1].sha256 == hashlib.sha256(b"x").hexdigest()
    assert file_sha256(root / "config.pbtxt") == tree.files[1].sha256


def test_a_pattern_selects_files_and_names_and_bytes_count(tmp_path):
    root = _tree(tmp_path / "src", {"a.py": b"1", "pkg/b.py": b"2", "pkg/b.pyc": b"3"})
    assert tree_files(root, "**/*.py") == ["a.py", "pkg/b.py"]
    before = tree_digest(root, "**/*.py")
    (root / "pkg" / "b.pyc").write_bytes(b"changed")
    assert tree_digest(root, "**/*.py") == before
    (root / "pkg" / "b.py").rename(root / "pkg" / "c.py")
    assert tree_digest(root, "**/*.py") != before


@pytest.mark.parametrize("target", ["file", "folder"])
def test_a_tree_holding_a_symlink_has_no_digest(tmp_path, target):
    root = _tree(tmp_path / "m", {"a": b"x", "sub/b": b"y"})
    (root / "link").symlink_to(root / ("a" if target == "file" else "sub"))
    with pytest.raises(DigestError, match="is a symlink; artifacts must be regular files"):
        tree_digest(root)


def test_missing_and_empty_trees_are_refused(tmp_path):
    with pytest.raises(DigestError, match="does not exist"):
        tree_digest(tmp_path / "missing")
    (tmp_path / "empty" / "1").mkdir(parents=True)
    with pytest.raises(DigestError, match="holds no files"):
        tree_digest(tmp_path / "empty")


@pytest.mark.parametrize("value", ["sha256:12", "md5:" + "0" * 64, "sha256:" + "A" * 64, ""])
def test_malformed_digests_are_not_digests(value):
    assert not is_digest(value)
