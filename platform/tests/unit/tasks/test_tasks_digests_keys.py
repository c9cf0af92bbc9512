import os
import time

import pytest

from latte.tasks.digests import RACY_NS, DigestMemo, sha256_file
from latte.tasks.errors import TaskError
from latte.tasks.graph import Graph
from latte.tasks.keys import compute_manifests, diff_manifests, interpreter_id, key_of
from latte.tasks.labels import Label


def age(path, seconds=10):
    old = time.time_ns() - seconds * 1_000_000_000
    os.utime(path, ns=(old, old))


def test_memo_reads_only_changed_files_and_persists(tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
        age(tmp_path / name)
    memo_file = tmp_path / "cache/digests.json"
    memo = DigestMemo(tmp_path, memo_file)
    first = memo.digests(["a.txt", "b.txt"])
    assert memo.hashed == 2
    assert first["a.txt"] == sha256_file(tmp_path / "a.txt")
    memo.save()
    again = DigestMemo(tmp_path, memo_file)
    assert again.digests(["a.txt", "b.txt"]) == first
    assert again.hashed == 0  # a no-op reads no contents
    (tmp_path / "b.txt").write_text("changed")
    age(tmp_path / "b.txt", 5)
    assert again.digest("b.txt") != first["b.txt"]
    assert again.hashed == 1


def test_recently_modified_files_are_not_memoised(tmp_path):
    path = tmp_path / "young.txt"
    path.write_text("v1")
    memo = DigestMemo(tmp_path, tmp_path / "memo.json")
    memo.digest("young.txt")
    memo.save()
    assert not (tmp_path / "memo.json").exists()  # racy-clean: would risk a stale digest
    assert RACY_NS >= 10_000_000


def test_damaged_memo_is_ignored(tmp_path):
    (tmp_path / "memo.json").write_text("{not json")
    (tmp_path / "f").write_text("x")
    assert DigestMemo(tmp_path, tmp_path / "memo.json").digest("f") == sha256_file(tmp_path / "f")
    (tmp_path / "memo.json").write_text('{"version": 99}')
    assert DigestMemo(tmp_path, tmp_path / "memo.json")._entries == {}


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(TaskError, match=r"cannot read input gone\.txt"):
        DigestMemo(tmp_path, tmp_path / "memo.json").digest("gone.txt")


BUILD = """
[[target]]
name = "a"
srcs = ["*.txt"]
outs = ["build/a"]
command = ["{python}", "-c", "pass"]
env = ["FLAVOUR"]
tools = ["pytest", "surely-not-installed-dist"]

[[target]]
name = "b"
srcs = ["b.py"]
deps = [":a"]
outs = ["build/b"]
callable = "pkg.mod:main"
"""


@pytest.fixture
def graph(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p/BUILD.toml").write_text(BUILD)
    (tmp_path / "p/x.txt").write_text("x")
    (tmp_path / "p/b.py").write_text("b")
    (tmp_path / "p/pyproject.toml").write_text("[project]\n")
    return Graph.load(tmp_path)


def manifests(graph, environ=None):
    memo = DigestMemo(graph.root, graph.root / "memo.json")
    return compute_manifests(
        graph, [Label("p", "b")], memo=memo, environ=environ or {}, build_dir="build"
    )


def test_manifest_holds_portable_values_only(graph):
    found = manifests(graph)
    a = found[Label("p", "a")]
    assert a["action"]["command"] == ["{python}", "-c", "pass"]
    assert set(a["inputs"]) == {"p/x.txt"}
    assert set(a["requirements"]) == {"p/pyproject.toml"}
    assert a["env"] == {"FLAVOUR": "<unset>"}
    assert a["tools"]["python"] == interpreter_id()
    assert a["tools"]["surely-not-installed-dist"] == "<not installed>"
    assert str(graph.root) not in str(found)
    assert found[Label("p", "b")]["deps"] == {"//p:a": key_of(a)}


def test_each_kind_of_input_changes_the_key_and_why_names_it(graph):
    base = manifests(graph)[Label("p", "b")]
    (graph.root / "p/x.txt").write_text("changed")
    changed = manifests(graph, {"FLAVOUR": "spicy"})[Label("p", "b")]
    assert key_of(changed) != key_of(base)
    lines = diff_manifests(base, changed)
    assert lines == [
        f"dependency key of //p:a: {base['deps']['//p:a'][:12]} -> {changed['deps']['//p:a'][:12]}"
    ]
    a_old = {**base, "inputs": {"p/old.txt": "0" * 64}, "env": {"FLAVOUR": "mild"}}
    a_new = {**base, "inputs": {"p/new.txt": "1" * 64}, "env": {"FLAVOUR": "spicy"}, "action": {}}
    lines = diff_manifests(a_old, a_new)
    assert "input p/new.txt: added" in lines
    assert "input p/old.txt: removed" in lines
    assert "env FLAVOUR: 'mild' -> 'spicy'" in lines
    assert any(line.startswith("action changed") for line in lines)
