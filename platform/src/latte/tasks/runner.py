"""Run targets through the cache: local hit, else remote hit, else execute and store.

Per target: compute nothing here (keys come from :mod:`latte.tasks.keys`), look the key up,
restore or build, record. The DAG order and parallelism come from :mod:`latte.tasks.scheduler`.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from latte.tasks.action import run_action
from latte.tasks.digests import DigestMemo
from latte.tasks.errors import TaskError
from latte.tasks.graph import Graph
from latte.tasks.keys import Manifest, key_of
from latte.tasks.labels import Label
from latte.tasks.outputs import (
    entry_is_valid,
    outputs_intact,
    remove_outputs,
    restore_outputs,
    snapshot_outputs,
    touch_outputs,
)
from latte.tasks.progress import Reporter
from latte.tasks.remote import RemoteCache
from latte.tasks.store import CacheEntry, LocalCache, referenced_blobs

__all__ = ["STATUSES", "TargetResult", "TargetRunner", "TargetStatus"]


class TargetStatus(StrEnum):
    """How a target ended up to date (or did not)."""

    CACHED = "cached"  # outputs already in place
    RESTORED = "restored"  # rebuilt from the local cache
    REMOTE = "remote"  # from the shared cache
    BUILT = "built"  # the action ran
    FAILED = "failed"
    SKIPPED = "skipped"  # a dependency failed or the run stopped


STATUSES = tuple(TargetStatus)


@dataclasses.dataclass(frozen=True)
class TargetResult:
    """One target's outcome; ``outs`` are its declared outputs, relative to the repo root."""

    label: str
    status: TargetStatus
    key: str
    seconds: float
    outs: tuple[str, ...] = ()
    saved: float = 0.0  # on a hit: how long the action took when it ran


@dataclasses.dataclass
class TargetRunner:
    """Everything one run needs to bring a target up to date."""

    graph: Graph
    manifests: Mapping[Label, Manifest]
    local: LocalCache
    remote: RemoteCache | None
    memo: DigestMemo
    reporter: Reporter
    build_dir: Path
    environ: Mapping[str, str] | None
    remote_write: bool
    results: dict[Label, TargetResult] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def __call__(self, label: Label) -> bool:
        started = time.perf_counter()
        self.reporter.started(str(label))
        key = key_of(self.manifests[label])
        status, logs, saved = self._from_cache(label, key) or (*self._build(label, key), 0.0)
        seconds = time.perf_counter() - started
        with self._lock:
            outs = self.outs(label)
            self.results[label] = TargetResult(str(label), status, key, seconds, outs, saved)
            self.reporter.finished(str(label), status, seconds, logs)
        return status is not TargetStatus.FAILED

    def _from_cache(
        self, label: Label, key: str
    ) -> tuple[TargetStatus, tuple[str, str], float] | None:
        entry = self.local.get_entry(key)
        if entry is not None and not entry_is_valid(entry, self.outs(label)):
            self.reporter.warn(f"{label}: local cache entry {key[:12]} is damaged; rebuilding")
            entry = None
        if entry is not None:
            outputs = entry["outputs"]
            if outputs_intact(self.graph.root, outputs, self.memo):
                touch_outputs(self.graph.root, outputs)
                return self._hit(label, key, entry, TargetStatus.CACHED)
            if restore_outputs(self.graph.root, outputs, self.local.fetch_blob):
                return self._hit(label, key, entry, TargetStatus.RESTORED)
            self.reporter.warn(f"{label}: local cache entry {key[:12]} lost a blob; rebuilding")
        if self.remote is None:
            return None
        entry = self.remote.get_entry(key)
        if entry is not None and not entry_is_valid(entry, self.outs(label)):
            self.reporter.warn(f"{label}: remote cache entry {key[:12]} is malformed; rebuilding")
            return None
        if entry is None or not self._pull_remote(entry):
            return None
        self.local.put_entry(key, entry)
        return self._hit(label, key, entry, TargetStatus.REMOTE)

    def _pull_remote(self, entry: CacheEntry) -> bool:
        assert self.remote is not None
        for name in ("stdout", "stderr"):
            if entry.get(name) and not self._pull_blob(entry[name]):
                return False
        if not restore_outputs(self.graph.root, entry["outputs"], self.remote.fetch_blob):
            return False
        for record in entry["outputs"]:  # verified on the way in: keep them locally too
            path = self.graph.root / record["path"]
            if record["kind"] == "file":
                self.local.put_blob(record["digest"], path)
            for item in record.get("files", []):
                self.local.put_blob(item["digest"], path / item["path"])
        return True

    def _pull_blob(self, digest: str) -> bool:
        assert self.remote is not None
        if self.local.has_blob(digest):
            return True
        self.local.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.local.cache_dir) as tmp:
            dest = Path(tmp) / digest
            if not self.remote.fetch_blob(digest, dest):
                return False
            self.local.put_blob(digest, dest)
        return True

    def _hit(
        self, label: Label, key: str, entry: CacheEntry, status: TargetStatus
    ) -> tuple[TargetStatus, tuple[str, str], float]:
        self.local.remember(label.slug, key)
        logs = (self._log(entry.get("stdout")), self._log(entry.get("stderr")))
        seconds = entry.get("seconds")
        return status, logs, float(seconds) if isinstance(seconds, int | float) else 0.0

    def _log(self, digest: str | None) -> str:
        data = self.local.read_blob(digest) if digest else b""
        return (data or b"").decode("utf-8", errors="replace")

    def outs(self, label: Label) -> tuple[str, ...]:
        build_dir = str(self.manifests[label]["build_dir"])
        return tuple(
            out.replace("{build_dir}", build_dir) for out in self.graph.targets[label].outs
        )

    def _build(self, label: Label, key: str) -> tuple[TargetStatus, tuple[str, str]]:
        target = self.graph.targets[label]
        outs = self.outs(label)
        remove_outputs(self.graph.root, outs)
        result = run_action(
            target, root=self.graph.root, build_dir=self.build_dir, environ=self.environ
        )
        logs = (result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace"))
        if result.exit_code != 0:
            note = f"latte: {label} exited with code {result.exit_code}\n"
            return TargetStatus.FAILED, (logs[0], logs[1] + note)
        try:
            records = snapshot_outputs(self.graph.root, outs, self.local, self.memo)
        except TaskError as exc:
            return TargetStatus.FAILED, (
                logs[0],
                f"{logs[1]}latte: {label}: {exc}; fix 'outs' or the action\n",
            )
        entry: CacheEntry = {
            "key": key,
            "label": str(label),
            "manifest": self.manifests[label],
            "outputs": records,
            "stdout": self.local.put_bytes(result.stdout),
            "stderr": self.local.put_bytes(result.stderr),
            "exit_code": result.exit_code,
            "seconds": round(result.seconds, 3),
        }
        self.local.put_entry(key, entry)
        self.local.remember(label.slug, key)
        if self.remote is not None and self.remote_write:
            self._push(key, entry)
        return TargetStatus.BUILT, logs

    def _push(self, key: str, entry: CacheEntry) -> None:
        """Blobs first, the entry last: a reader never sees an entry without its blobs."""
        assert self.remote is not None
        for digest in sorted(set(referenced_blobs(entry))):
            self.remote.put_blob(digest, self.local.blob_path(digest))
        self.remote.put_entry(key, entry)
