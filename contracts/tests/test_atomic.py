"""write_atomic: all or nothing, unique temp names, safe with concurrent writers."""

from __future__ import annotations

import stat
import threading

import pytest

from latte_contracts.atomic import atomic_path, move_into_place, write_atomic


def test_write_creates_the_folder_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "a" / "b.txt"
    write_atomic(path, "héllo")
    assert path.read_text(encoding="utf-8") == "héllo"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    write_atomic(path, b"\x00bytes")
    assert path.read_bytes() == b"\x00bytes"
    assert [p.name for p in path.parent.iterdir()] == ["b.txt"]


def test_the_mode_of_the_replaced_file_is_kept_unless_one_is_given(tmp_path):
    path = tmp_path / "f"
    write_atomic(path, "1", mode=0o755)
    write_atomic(path, "2")
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    write_atomic(path, "3", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_fill_leaves_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "f"
    write_atomic(path, "old")

    def fail_halfway():
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_halfway()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_concurrent_writers_of_one_file_never_tear_it(tmp_path):
    path = tmp_path / "blob"
    payloads = [bytes([n]) * 200_000 for n in range(8)]
    errors = []

    def write(data):
        try:
            for _ in range(5):
                write_atomic(path, data)
        except Exception as exc:  # reported below: a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert path.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["blob"]


def test_move_into_place_renames_a_staged_folder(tmp_path):
    staged = tmp_path / ".staging"
    (staged / "1").mkdir(parents=True)
    (staged / "1" / "m").write_text("x")
    move_into_place(staged, tmp_path / "final")
    assert (tmp_path / "final" / "1" / "m").read_text() == "x"
    assert not staged.exists()
