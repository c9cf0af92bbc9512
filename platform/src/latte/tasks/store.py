"""Cache backends: a Protocol plus a dict of implementations (local folder, S3/MinIO).

An *entry* (JSON, keyed by action key) records the manifest, the outputs as trees of blob
digests, the digests of stdout/stderr, the exit code and the duration. *Blobs* are stored by
their sha256; every blob fetched is verified against its digest before it is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from latte_contracts.atomic import atomic_path, write_atomic

__all__ = ["CacheBackend", "CacheStats", "LocalStore", "copy_verified"]

Entry = dict[str, Any]
_CHUNK = 1 << 20


class CacheBackend(Protocol):
    """Where entries and blobs live. ``fetch_blob`` returns False on a missing/corrupt blob."""

    name: str

    def get_entry(self, key: str) -> Entry | None: ...

    def put_entry(self, key: str, entry: Entry) -> None: ...

    def has_blob(self, digest: str) -> bool: ...

    def fetch_blob(self, digest: str, dest: Path) -> bool: ...

    def put_blob(self, digest: str, source: Path) -> None: ...


def copy_verified(read: Callable[[int], bytes], dest: Path, digest: str) -> bool:
    """Stream ``read`` into ``dest`` while hashing; on a digest mismatch remove ``dest``."""
    hasher = hashlib.sha256()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as out:
        while chunk := read(_CHUNK):
            hasher.update(chunk)
            out.write(chunk)
    if hasher.hexdigest() != digest:
        dest.unlink(missing_ok=True)
        return False
    return True


class CacheStats(dict[str, int]):
    """entries, blobs, bytes (a dict so it prints and serialises plainly)."""


class LocalStore:
    """The local content-addressed store under ``cache_dir``."""

    name = "local"

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.cas = cache_dir / "cas"
        self.ac = cache_dir / "ac"
        self.labels = cache_dir / "labels"

    def _blob(self, digest: str) -> Path:
        return self.cas / digest[:2] / digest

    def _entry(self, key: str) -> Path:
        return self.ac / key[:2] / f"{key}.json"

    def get_entry(self, key: str) -> Entry | None:
        path = self._entry(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        os.utime(path)  # recently used entries survive `latte cache prune`
        return entry if isinstance(entry, dict) and entry.get("key") == key else None

    def put_entry(self, key: str, entry: Entry) -> None:
        write_atomic(self._entry(key), json.dumps(entry, sort_keys=True, indent=1))

    def has_blob(self, digest: str) -> bool:
        return self._blob(digest).is_file()

    def fetch_blob(self, digest: str, dest: Path) -> bool:
        try:
            with self._blob(digest).open("rb") as handle:
                return copy_verified(handle.read, dest, digest)
        except FileNotFoundError:
            return False

    def put_blob(self, digest: str, source: Path) -> None:
        target = self._blob(digest)
        if target.is_file():
            return
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)

    def read_blob(self, digest: str) -> bytes | None:
        try:
            return self._blob(digest).read_bytes()
        except FileNotFoundError:
            return None

    def put_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self._blob(digest)
        if not target.is_file():
            write_atomic(target, data)
        return digest

    def remember(self, label_slug: str, key: str) -> None:
        """Record the label's latest key, so ``latte why`` has something to compare with."""
        if self.last_key(label_slug) == key:
            return  # a read is cheaper than a write, and a no-op run should write nothing
        write_atomic(self.labels / f"{label_slug}.json", json.dumps({"key": key}))

    def last_key(self, label_slug: str) -> str | None:
        try:
            return str(json.loads((self.labels / f"{label_slug}.json").read_text())["key"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _entries(self) -> Iterator[Path]:
        return self.ac.glob("*/*.json") if self.ac.is_dir() else iter(())

    def _blobs(self) -> Iterator[Path]:
        return self.cas.glob("*/*") if self.cas.is_dir() else iter(())

    def stats(self) -> CacheStats:
        blobs = [p for p in self._blobs() if not p.name.startswith(".")]
        return CacheStats(
            entries=sum(1 for _ in self._entries()),
            blobs=len(blobs),
            bytes=sum(p.stat().st_size for p in blobs),
        )

    def prune(self, *, older_than_days: float) -> CacheStats:
        """Drop entries unused for ``older_than_days``, then blobs no entry references."""
        cutoff = time.time() - older_than_days * 86400
        kept: set[str] = set()
        removed_entries = 0
        for path in list(self._entries()):
            entry = _read_json(path)
            if entry is None or path.stat().st_mtime <= cutoff:
                path.unlink(missing_ok=True)
                removed_entries += 1
            else:
                kept |= set(referenced_blobs(entry))
        removed = [p for p in self._blobs() if p.name not in kept]
        freed = sum(p.stat().st_size for p in removed)
        for path in removed:
            path.unlink(missing_ok=True)
        return CacheStats(entries=removed_entries, blobs=len(removed), bytes=freed)


def _read_json(path: Path) -> Entry | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def referenced_blobs(entry: Entry) -> Iterator[str]:
    """Every blob digest an entry needs (outputs and logs)."""
    for name in ("stdout", "stderr"):
        if entry.get(name):
            yield str(entry[name])
    for output in entry.get("outputs", []):
        if output.get("kind") == "file":
            yield str(output["digest"])
        for item in output.get("files", []):
            yield str(item["digest"])
