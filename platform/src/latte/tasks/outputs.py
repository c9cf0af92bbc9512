"""Declared outputs: snapshot them into the store after a build, restore them on a hit.

An output record is ``{"path", "kind": "file", "digest", "exec"}`` or ``{"path", "kind":
"dir", "files": [{"path", "digest", "exec"}], "dirs": [...], "links": [{"path", "to"}]}``.
Restoring builds the tree beside its destination and swaps it in, so a failed restore
never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from latte.tasks.digests import DigestMemo
from latte.tasks.errors import TaskError
from latte.tasks.store import CacheEntry, LocalCache
from latte_contracts.atomic import move_into_place

__all__ = [
    "entry_is_valid",
    "outputs_intact",
    "records_are_valid",
    "remove_outputs",
    "restore_outputs",
    "snapshot_outputs",
    "touch_outputs",
]

Record = dict[str, Any]
Fetch = Callable[[str, Path], bool]


_HEX = frozenset("0123456789abcdef")


def _safe(relpath: object) -> bool:
    return (
        isinstance(relpath, str)
        and bool(relpath)
        and not relpath.startswith("/")
        and ".." not in relpath.split("/")
    )


def _digest_ok(digest: object) -> bool:
    return isinstance(digest, str) and len(digest) == 64 and set(digest) <= _HEX


def records_are_valid(records: object, outs: Iterable[str]) -> bool:
    """Whether cache records (possibly from a remote writer) describe exactly ``outs``, with
    digests and relative paths that cannot escape them: a cache entry never writes elsewhere."""
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        return False
    if sorted(str(r.get("path")) for r in records) != sorted(outs):
        return False
    return all(_record_ok(record) for record in records)


def entry_is_valid(entry: CacheEntry, outs: Iterable[str]) -> bool:
    """A cache entry's outputs (see :func:`records_are_valid`) and log digests are well formed."""
    logs_ok = all(
        not entry.get(name) or _digest_ok(entry.get(name)) for name in ("stdout", "stderr")
    )
    return logs_ok and records_are_valid(entry.get("outputs"), outs)


def _record_ok(record: dict[str, Any]) -> bool:
    if record.get("kind") == "file":
        return _digest_ok(record.get("digest"))
    if record.get("kind") != "dir":
        return False
    files, dirs, links = record.get("files"), record.get("dirs"), record.get("links")
    if not (isinstance(files, list) and isinstance(dirs, list) and isinstance(links, list)):
        return False
    return (
        all(
            isinstance(f, dict) and _safe(f.get("path")) and _digest_ok(f.get("digest"))
            for f in files
        )
        and all(_safe(d) for d in dirs)
        and all(isinstance(x, dict) and _safe(x.get("path")) and _safe(x.get("to")) for x in links)
    )


def _is_exec(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)


def _walk(folder: Path) -> tuple[list[str], list[str], list[str]]:
    files: list[str] = []
    dirs: list[str] = []
    links: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = Path(dirpath).relative_to(folder)
        for name in dirnames:
            (links if (Path(dirpath) / name).is_symlink() else dirs).append((rel / name).as_posix())
        for name in filenames:
            (links if (Path(dirpath) / name).is_symlink() else files).append(
                (rel / name).as_posix()
            )
    return sorted(files), sorted(dirs), sorted(links)


def snapshot_outputs(
    root: Path, outs: Iterable[str], store: LocalCache, memo: DigestMemo
) -> list[Record]:
    """Put every output file into ``store`` and describe the outputs; a missing out is an error."""
    records: list[Record] = []
    for out in outs:
        path = root / out
        if path.is_file():
            digest = memo.digest(out)
            store.put_blob(digest, path)
            records.append({"path": out, "kind": "file", "digest": digest, "exec": _is_exec(path)})
        elif path.is_dir():
            records.append(_snapshot_dir(root, out, store, memo))
        else:
            raise TaskError(f"the action did not create its declared output {out}")
    return records


def _snapshot_dir(root: Path, out: str, store: LocalCache, memo: DigestMemo) -> Record:
    folder = root / out
    files, dirs, links = _walk(folder)
    digests = memo.digests(f"{out}/{rel}" for rel in files)
    items = []
    for rel in files:
        digest = digests[f"{out}/{rel}"]
        store.put_blob(digest, folder / rel)
        items.append({"path": rel, "digest": digest, "exec": _is_exec(folder / rel)})
    link_items = [{"path": rel, "to": os.readlink(folder / rel)} for rel in links]
    return {"path": out, "kind": "dir", "files": items, "dirs": dirs, "links": link_items}


def outputs_intact(root: Path, records: Iterable[Record], memo: DigestMemo) -> bool:
    """Whether every recorded output is on disk with the recorded contents (memoised digests)."""
    for record in records:
        path = root / record["path"]
        if record["kind"] == "file":
            if not path.is_file() or memo.digest(record["path"]) != record["digest"]:
                return False
            continue
        if not path.is_dir():
            return False
        files, dirs, links = _walk(path)
        expected = {item["path"]: item["digest"] for item in record["files"]}
        if (
            files != sorted(expected)
            or dirs != record["dirs"]
            or len(links) != len(record["links"])
        ):
            return False
        actual = memo.digests(f"{record['path']}/{rel}" for rel in files)
        if any(actual[f"{record['path']}/{rel}"] != expected[rel] for rel in files):
            return False
    return True


def touch_outputs(root: Path, records: Iterable[Record]) -> None:
    """Date file outputs (reports) to now on a hit: they speak for this run, as if it had
    produced them (the release gates refuse reports older than the source commit).

    Folders (model trees) keep their times: nothing judges them by age, and re-dating them
    would make the next run re-hash every file in them.
    """
    for record in records:
        if record["kind"] == "file":
            with contextlib.suppress(OSError):
                os.utime(root / record["path"])


def remove_outputs(root: Path, outs: Iterable[str]) -> None:
    """Delete declared outputs before an action runs, so no stale file is cached."""
    for out in outs:
        path = root / out
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def restore_outputs(root: Path, records: Iterable[Record], fetch: Fetch) -> bool:
    """Rebuild every output from blobs; False (and nothing changed) if any blob is unusable."""
    staged: list[tuple[Path, Path]] = []
    try:
        for record in records:
            dest = root / record["path"]
            tmp = dest.with_name(f".{dest.name}.latte-restore-{os.getpid()}")
            _clear(tmp)
            staged.append((tmp, dest))
            if not _stage(record, tmp, fetch):
                return False
        for tmp, dest in staged:
            remove_outputs(dest.parent, [dest.name])
            move_into_place(tmp, dest)
        return True
    finally:
        for tmp, _ in staged:
            _clear(tmp)


def _stage(record: Record, tmp: Path, fetch: Fetch) -> bool:
    tmp.parent.mkdir(parents=True, exist_ok=True)
    if record["kind"] == "file":
        return fetch(record["digest"], tmp) and _set_exec(tmp, record["exec"])
    tmp.mkdir()
    for rel in record["dirs"]:
        (tmp / rel).mkdir(parents=True, exist_ok=True)
    for item in record["files"]:
        if not (
            fetch(item["digest"], tmp / item["path"])
            and _set_exec(tmp / item["path"], item["exec"])
        ):
            return False
    for link in record["links"]:
        (tmp / link["path"]).symlink_to(link["to"])
    return True


def _set_exec(path: Path, executable: bool) -> bool:
    mode = path.stat().st_mode
    bits = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
    path.chmod(mode | bits if executable else mode & ~bits)
    return True


def _clear(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
