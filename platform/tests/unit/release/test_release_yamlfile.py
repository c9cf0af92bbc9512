"""Minimal round-trip edits: comments, order and quoting survive; same content, same bytes."""

from latte.release import yamlfile

ORIGINAL = """\
# Written by a tool. Do not edit by hand.
release:
  id: "2026.11.30.1"   # the id
  created: "2026-11-30T05:00:00Z"
  commit: "aaaa"
  gates: {tests: passed}
models:
  digits: {version: 3, metrics: {f1: 0.9}}
# images pinned by CI
images:
  gateway: {repository: r, tag: "aaaa", digest: ""}
routing: {}
"""


def _roundtrip(tmp_path, new):
    path = tmp_path / "release.yaml"
    path.write_text(ORIGINAL)
    doc = yamlfile.load(path)
    yamlfile.update_in_place(doc, new)
    yamlfile.write_atomic(path, yamlfile.dump(doc))
    return path.read_text()


def test_same_content_gives_the_same_bytes(tmp_path):
    same = yamlfile.plain(yamlfile.load(_write(tmp_path)))
    assert _roundtrip(tmp_path, same) == ORIGINAL


def test_a_changed_scalar_changes_only_its_line(tmp_path):
    new = yamlfile.plain(yamlfile.load(_write(tmp_path)))
    new["models"]["digits"]["version"] = 4
    new["images"]["gateway"]["tag"] = "bbbb"
    text = _roundtrip(tmp_path, new)
    assert text == ORIGINAL.replace("version: 3", "version: 4").replace(
        'tag: "aaaa"', 'tag: "bbbb"'
    )


def test_new_keys_are_added_quoted_and_gone_keys_removed(tmp_path):
    new = yamlfile.plain(yamlfile.load(_write(tmp_path)))
    new["routing"] = {"digits": {"stable": 3, "versions": {"3": 100}}}
    del new["images"]
    text = _roundtrip(tmp_path, new)
    assert "images" not in text
    assert "# Written by a tool. Do not edit by hand." in text
    assert 'id: "2026.11.30.1"   # the id' in text
    assert 'routing:\n  digits: {stable: 3, versions: {"3": 100}}\n' in text
    assert yamlfile.plain(yamlfile.load(tmp_path / "release.yaml"))["routing"] == new["routing"]


def test_write_atomic_keeps_the_mode_and_leaves_no_temp_file(tmp_path):
    path = _write(tmp_path)
    path.chmod(0o640)
    yamlfile.write_atomic(path, "a: 1\n")
    assert path.read_text() == "a: 1\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["release.yaml"]


def _write(tmp_path):
    path = tmp_path / "release.yaml"
    path.write_text(ORIGINAL)
    return path
