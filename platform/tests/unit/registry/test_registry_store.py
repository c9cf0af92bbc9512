"""The local artifact store: atomic writes, listing, and a missing blob named clearly."""

from __future__ import annotations

import pytest

from latte.config import load_settings
from latte.objects import FolderStore
from latte.registry import IntegrityError, folder_store, open_store
from latte.registry.blobs import copy_tree, has_tree, upload_tree
from latte.registry.digest import hash_tree


def test_put_get_list_delete(tmp_path):
    store = folder_store(tmp_path / "store")
    store.put_bytes("a/b/c", b"1")
    (tmp_path / "f").write_bytes(b"2")
    store.put_file("a/d", tmp_path / "f")
    assert store.exists("a/b/c")
    assert store.get_bytes("a/d") == b"2"
    store.get_file("a/b/c", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b"1"
    assert store.list_keys("a") == ["a/b/c", "a/d"]
    assert store.list_keys("missing") == []
    store.delete("a/d")
    store.delete("a/d")  # deleting twice is fine
    assert store.list_keys("a") == ["a/b/c"]


def test_a_failed_write_leaves_no_temp_file(tmp_path):
    store = folder_store(tmp_path / "store")
    with pytest.raises(FileNotFoundError):
        store.put_file("k", tmp_path / "does-not-exist")
    assert list((tmp_path / "store").iterdir()) == []


def test_a_missing_blob_is_an_integrity_error(tmp_path):
    store = folder_store(tmp_path / "store")
    with pytest.raises(IntegrityError, match="artifact 'nope' is missing"):
        store.get_bytes("nope")


def test_trees_copy_between_stores_and_a_half_copied_tree_is_not_visible(tmp_path):
    tree = tmp_path / "tree"
    (tree / "1").mkdir(parents=True)
    (tree / "1" / "m").write_bytes(b"x")
    manifest = hash_tree(tree)
    source, target = folder_store(tmp_path / "s"), folder_store(tmp_path / "t")
    assert upload_tree(source, tree, manifest) == 1
    assert upload_tree(source, tree, manifest) == 0  # blobs already there are not re-sent
    copied = copy_tree(source, target, manifest.digest)
    assert (copied.manifest, copied.blobs_sent, copied.bytes_sent) == (manifest, 1, 1)
    assert copy_tree(source, target, manifest.digest).keys == ()  # incremental: nothing sent
    assert has_tree(target, manifest.digest)
    (tmp_path / "s" / "blobs").rename(tmp_path / "s" / "gone")
    with pytest.raises(IntegrityError, match="missing"):
        copy_tree(source, folder_store(tmp_path / "u"), manifest.digest)
    assert not has_tree(folder_store(tmp_path / "u"), manifest.digest)


def test_the_url_picks_the_store(tmp_path):
    (tmp_path / "latte.toml").write_text("")
    settings = load_settings(root=tmp_path, environ={})
    store = open_store("relative/folder", settings)
    assert isinstance(store, FolderStore)
    assert store.root == tmp_path / "relative" / "folder"
