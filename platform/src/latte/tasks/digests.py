"""File content digests, memoised like git's index so a no-op run reads no file contents.

An entry is trusted while the file's (size, mtime_ns, inode) are unchanged. Like git's "racy
clean" rule, a file modified within :data:`RACY_NS` of being hashed is not memoised: a second
write in the same timestamp tick could otherwise keep the old digest.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from latte.atomic import write_text_atomic
from latte.tasks.errors import TaskError
from latte_contracts.digest import file_sha256 as sha256_file  # re-exported

__all__ = ["RACY_NS", "DigestMemo", "sha256_file"]

RACY_NS = 1_000_000_000
_VERSION = 1


class DigestMemo:
    """Digests of root-relative paths, persisted in one JSON file."""

    def __init__(self, root: Path, memo_file: Path, *, workers: int = 4) -> None:
        self.root = root
        self._root_prefix = os.path.join(root, "")  # plain strings: pathlib costs ~30 us a path
        self.memo_file = memo_file
        self.workers = workers
        self.hashed = 0  # files whose contents were read in this process (for tests/bench)
        self._entries: dict[str, list[int | str]] = self._load()
        self._dirty = False

    def _load(self) -> dict[str, list[int | str]]:
        try:
            data = json.loads(self.memo_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # a missing or damaged memo only costs re-hashing
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            return {}
        entries = data.get("entries", {})
        return entries if isinstance(entries, dict) else {}

    def digests(self, relpaths: Iterable[str]) -> dict[str, str]:
        """Digest every path, hashing only files whose stat changed (in parallel threads)."""
        result: dict[str, str] = {}
        stale: list[tuple[str, os.stat_result]] = []
        for relpath in relpaths:
            stat = self._stat(relpath)
            entry = self._entries.get(relpath)
            if entry and entry[:3] == [stat.st_size, stat.st_mtime_ns, stat.st_ino]:
                result[relpath] = str(entry[3])
            else:
                stale.append((relpath, stat))
        if stale:
            result.update(self._hash_all(stale))
        return result

    def digest(self, relpath: str) -> str:
        return self.digests([relpath])[relpath]

    def _stat(self, relpath: str) -> os.stat_result:
        try:
            return os.stat(self._root_prefix + relpath)
        except OSError as exc:
            raise TaskError(f"cannot read input {relpath}: {exc.strerror}; re-run latte") from exc

    def _hash_all(self, stale: list[tuple[str, os.stat_result]]) -> dict[str, str]:
        started = time.time_ns()
        paths = [self.root / relpath for relpath, _ in stale]
        if len(paths) == 1:
            hexes = [sha256_file(paths[0])]
        else:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                hexes = list(pool.map(sha256_file, paths))
        self.hashed += len(paths)
        for (relpath, stat), hexdigest in zip(stale, hexes, strict=True):
            if stat.st_mtime_ns < started - RACY_NS:
                self._entries[relpath] = [stat.st_size, stat.st_mtime_ns, stat.st_ino, hexdigest]
                self._dirty = True
        return {relpath: hexdigest for (relpath, _), hexdigest in zip(stale, hexes, strict=True)}

    def save(self) -> None:
        """Persist new entries (atomically; a concurrent run at worst loses some memo)."""
        if not self._dirty:
            return
        payload = {"version": _VERSION, "entries": self._entries}
        write_text_atomic(self.memo_file, json.dumps(payload, separators=(",", ":")))
        self._dirty = False
