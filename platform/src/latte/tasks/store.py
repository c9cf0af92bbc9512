"""Cache backends: a Protocol plus a dict of implementations (local folder, S3/MinIO).

An *entry* (JSON, keyed by action key) records the manifest, the outputs as trees of blob
digests, the digests of stdout/stderr, the exit code and the duration. *Blobs* are stored by
their sha256; every blob fetched is verified against its digest before it is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, TypedDict, cast

from latte.cas import fetch_checked, put_if_absent
from latte.objects import FolderStore, ObjectMissingError

__all__ = ["CacheBackend", "CacheEntry", "CacheStats", "LocalCache", "referenced_blobs"]


class CacheEntry(TypedDict):
    """One action's cache entry, as stored (JSON, sorted keys). Entries read from a store are
    checked with :func:`latte.tasks.outputs.entry_is_valid` before they are used."""

    key: str
    label: str
    manifest: dict[str, Any]  # what the action key was computed from (see ``latte why``)
    outputs: list[dict[str, Any]]  # :data:`latte.tasks.outputs.Record` per declared output
    stdout: str  # blob digests of the logs
    stderr: str
    exit_code: int
    seconds: float


Entry = CacheEntry


class CacheBackend(Protocol):
    """Where entries and blobs live. ``fetch_blob`` returns False on a missing/corrupt blob."""

    name: str

    def get_entry(self, key: str) -> Entry | None: ...

    def put_entry(self, key: str, entry: Entry) -> None: ...

    def has_blob(self, digest: str) -> bool: ...

    def fetch_blob(self, digest: str, dest: Path) -> bool: ...

    def put_blob(self, digest: str, source: Path) -> None: ...


class CacheStats(dict[str, int]):
    """entries, blobs, bytes (a dict so it prints and serialises plainly)."""


class LocalCache:
    """The local task cache: a layout on a :class:`~latte.objects.FolderStore` at ``cache_dir``.

    ``cas/<2 hex>/<sha256>`` blobs, ``ac/<2 hex>/<key>.json`` entries, ``labels/<slug>.json``
    the last key per label. Writers of the same blob (threads of the scheduler, or several
    latte runs) each write their own temp file and rename it into place: the last rename wins
    and every reader sees a whole blob.
    """

    name = "local"

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.folder = FolderStore(cache_dir)

    @staticmethod
    def _blob(digest: str) -> str:
        return f"cas/{digest[:2]}/{digest}"

    @staticmethod
    def _entry(key: str) -> str:
        return f"ac/{key[:2]}/{key}.json"

    def get_entry(self, key: str) -> Entry | None:
        path = self.entry_path(key)
        entry = _read_json(path)
        if entry is None:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used entries survive `latte cache prune`
        return cast("CacheEntry", entry) if entry.get("key") == key else None

    def put_entry(self, key: str, entry: Entry) -> None:
        data = json.dumps(entry, sort_keys=True, indent=1).encode("utf-8")
        self.folder.put_bytes(self._entry(key), data)

    def has_blob(self, digest: str) -> bool:
        return self.folder.exists(self._blob(digest))

    def blob_path(self, digest: str) -> Path:
        """Where the blob lives on disk (to upload it without a copy)."""
        return self.folder.path(self._blob(digest))

    def entry_path(self, key: str) -> Path:
        return self.folder.path(self._entry(key))

    def fetch_blob(self, digest: str, dest: Path) -> bool:
        try:
            return fetch_checked(self.folder, self._blob(digest), digest, dest) == digest
        except ObjectMissingError:
            return False

    def put_blob(self, digest: str, source: Path) -> None:
        put_if_absent(self.folder, self._blob(digest), source)

    def read_blob(self, digest: str) -> bytes | None:
        try:
            return self.folder.get_bytes(self._blob(digest))
        except ObjectMissingError:
            return None

    def put_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if not self.has_blob(digest):
            self.folder.put_bytes(self._blob(digest), data)
        return digest

    def remember(self, label_slug: str, key: str) -> None:
        """Record the label's latest key, so ``latte why`` has something to compare with."""
        if self.last_key(label_slug) == key:
            return  # a read is cheaper than a write, and a no-op run should write nothing
        self.folder.put_bytes(f"labels/{label_slug}.json", json.dumps({"key": key}).encode())

    def last_key(self, label_slug: str) -> str | None:
        data = _read_json(self.folder.path(f"labels/{label_slug}.json"))
        return str(data["key"]) if data is not None and "key" in data else None

    def stats(self) -> CacheStats:
        blobs = list(self.folder.files("cas"))
        return CacheStats(
            entries=sum(1 for _ in self.folder.files("ac")),
            blobs=len(blobs),
            bytes=sum(p.stat().st_size for p in blobs),
        )

    def prune(self, *, older_than_days: float) -> CacheStats:
        """Drop entries unused for ``older_than_days``, then blobs no entry references."""
        cutoff = time.time() - older_than_days * 86400
        kept: set[str] = set()
        removed_entries = 0
        for path in list(self.folder.files("ac")):
            entry = _read_json(path)
            if entry is None or path.stat().st_mtime <= cutoff:
                path.unlink(missing_ok=True)
                removed_entries += 1
            else:
                kept |= set(referenced_blobs(cast("CacheEntry", entry)))
        removed = [p for p in self.folder.files("cas") if p.name not in kept]
        freed = sum(p.stat().st_size for p in removed)
        for path in removed:
            path.unlink(missing_ok=True)
        return CacheStats(entries=removed_entries, blobs=len(removed), bytes=freed)


def _read_json(path: Path) -> dict[str, Any] | None:
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
