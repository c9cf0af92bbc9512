"""Backup and restore through a backup chain: a folder or ``s3://bucket/prefix``.

A chain holds, in one store (:mod:`latte.objects`)::

    latte-backup.json                 the marker: "this is a latte backup chain"
    blobs/sha256/<hex>                artifacts in the registry store's own layout, shared by
    trees/sha256/<hex>.json           every snapshot: a backup sends only blobs the chain lacks
    snapshots/<id>.json               one metadata snapshot per backup, written last

A snapshot is read in one transaction and names exactly the trees it references; its trees
are copied (every blob and tree digest verified) before the snapshot is written, so a
snapshot present means its artifacts are too. A failed backup or restore deletes what it
wrote. Retention (``keep``) drops the oldest snapshots, then every tree and blob no kept
snapshot references. Restore needs an empty registry, verifies every tree, then inserts all
metadata in one transaction, keeping version numbers, aliases and the audit trail.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from latte.objects import FolderStore, ObjectStore
from latte.registry import _queries as q
from latte.registry.artifacts import folder_store, s3_store
from latte.registry.blobs import Copied, blob_key, copy_tree, has_tree, load_manifest, manifest_key
from latte.registry.db import translate_db_errors
from latte.registry.errors import IntegrityError, InvalidInputError, RegistryError
from latte.registry.registry import Registry, _now
from latte.registry.schema import aliases, audit, models
from latte.registry.values import ARTIFACT_PREFIX
from latte.s3 import S3Location, is_s3_url

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = [
    "BACKUP_FORMAT",
    "BackupResult",
    "RestoreResult",
    "backup_registry",
    "list_snapshots",
    "open_target",
    "restore_registry",
]

BACKUP_FORMAT = "latte-registry-backup/2"
MARKER = "latte-backup.json"
SNAPSHOTS = "snapshots"
# A folder backup written before chains: one registry.json beside an artifacts/ store.
LEGACY, LEGACY_FORMAT = "registry.json", "latte-registry-backup/1"

# Called with (bytes just copied, total bytes of the copy) so a CLI can draw progress.
OnBytes = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class BackupResult:
    snapshot: str
    versions: int
    trees_copied: int
    trees_reused: int
    blobs_sent: int
    bytes_sent: int
    pruned: tuple[str, ...] = ()
    blobs_deleted: int = 0


@dataclasses.dataclass(frozen=True)
class RestoreResult:
    snapshot: str
    versions: int
    blobs_sent: int
    bytes_sent: int


def open_target(target: str | Path, settings: Settings | None = None) -> ObjectStore:
    """The store behind a backup target: ``s3://bucket/prefix`` or a folder path."""
    text = str(target)
    if is_s3_url(text):
        if settings is None:
            raise InvalidInputError(f"{text}: an s3:// backup target needs the S3 settings")
        return s3_store(S3Location.parse(text), settings)
    return folder_store(Path(target))


def _as_store(target: ObjectStore | Path) -> ObjectStore:
    return folder_store(target) if isinstance(target, Path) else target


def backup_registry(
    registry: Registry,
    target: ObjectStore | Path,
    *,
    keep: int | None = None,
    on_bytes: OnBytes | None = None,
) -> BackupResult:
    """Add a snapshot (and the blobs it needs) to the chain at ``target`` (new, empty or a
    chain of this registry); with ``keep``, prune to the ``keep`` newest snapshots."""
    if keep is not None and keep < 1:
        raise InvalidInputError(f"keep must be at least 1 (got {keep}): the new snapshot stays")
    store = _as_store(target)
    previous = _check_target(store)
    snapshot_id, document = _snapshot(registry)
    if previous is not None:
        _check_same_chain(store, previous, document)
    with _undo_on_failure(store) as written:
        if previous is None and not store.exists(MARKER):
            store.put_bytes(MARKER, _marker())
            written.append(MARKER)
        copied, reused = _copy_trees(registry.store, store, _trees(document), written, on_bytes)
        store.put_bytes(_snapshot_key(snapshot_id), _encode(document))
    pruned, deleted = _prune(store, keep) if keep is not None else ((), 0)
    return BackupResult(
        snapshot=snapshot_id,
        versions=len(document["versions"]),
        trees_copied=len(copied),
        trees_reused=reused,
        blobs_sent=sum(c.blobs_sent for c in copied),
        bytes_sent=sum(c.bytes_sent for c in copied),
        pruned=pruned,
        blobs_deleted=deleted,
    )


def _check_target(store: ObjectStore) -> str | None:
    """The newest snapshot of an existing chain, None for an empty target; else refuse."""
    if not store.exists(MARKER):
        if store.list_keys(""):
            raise InvalidInputError(
                f"backup target {store.describe()} is not empty and is not a latte backup "
                f"chain (no {MARKER}); choose a new folder or prefix"
            )
        return None
    snapshots = list_snapshots(store)
    return snapshots[-1] if snapshots else None


def _check_same_chain(store: ObjectStore, latest: str, document: dict[str, Any]) -> None:
    """A registry continues a chain when it still holds every version of its newest snapshot
    with the same digest (versions are never reused), so a restored registry continues too."""
    ours = {(v["name"], v["version"]): v["digest"] for v in document["versions"]}
    for item in _read_snapshot(store, latest)["versions"]:
        if ours.get((item["name"], item["version"])) != item["digest"]:
            raise InvalidInputError(
                f"backup target {store.describe()} is the chain of another registry (its "
                f"snapshot {latest} has {item['name']} version {item['version']} "
                f"{item['digest'][:19]}.., this registry does not); choose a new folder or prefix"
            )


def _snapshot(registry: Registry) -> tuple[str, dict[str, Any]]:
    taken = datetime.now(UTC)
    # PostgreSQL's default READ COMMITTED gives each SELECT its own view: a registration
    # committing between them would put a version in the snapshot that its counter misses.
    # REPEATABLE READ reads all of them from one view; SQLite's transactions already do.
    engine = registry.engine
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with translate_db_errors(registry.engine), engine.begin() as connection:
        counters = connection.execute(sa.select(models.c.name, models.c.last_version)).all()
        document = {
            "format": BACKUP_FORMAT,
            "taken_at": taken.isoformat(),
            "models": {row.name: int(row.last_version) for row in counters},
            "versions": [mv.to_dict() for mv in q.load_versions(connection, sa.true())],
            "aliases": [_jsonable(row) for row in q.load_aliases(connection, None)],
            "audit": [entry.to_dict() for entry in q.load_audit(connection, None)],
        }
    # Sortable by time: the newest snapshot is the last key.
    return taken.strftime("%Y%m%dT%H%M%S.%fZ"), document


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _trees(document: dict[str, Any]) -> list[str]:
    """Every tree the versions reference: the main one and extras (lineage ``artifact.*``)."""
    found = {v["digest"] for v in document["versions"]}
    for version in document["versions"]:
        lineage = version.get("lineage") or {}
        found |= {d for k, d in lineage.items() if k.startswith(ARTIFACT_PREFIX)}
    return sorted(found)


def _copy_trees(
    source: ObjectStore,
    target: ObjectStore,
    digests: list[str],
    written: list[str],
    on_bytes: OnBytes | None,
) -> tuple[list[Copied], int]:
    """Copy the trees the target lacks; returns those copies and how many trees it had."""
    missing = [d for d in digests if not has_tree(target, d)]
    total = sum(e.size for d in missing for e in load_manifest(source, d).files)
    copied: list[Copied] = []
    if on_bytes is not None:
        on_bytes(0, total)  # the bar knows its total before the first (maybe long) tree
    for digest in missing:
        result = copy_tree(source, target, digest)
        written.extend(result.keys)
        copied.append(result)
        if on_bytes is not None:
            on_bytes(sum(e.size for e in result.manifest.files), total)
    return copied, len(digests) - len(missing)


@contextmanager
def _undo_on_failure(store: ObjectStore) -> Iterator[list[str]]:
    """Yield a list of keys written; on any failure delete them, newest first (a manifest
    before its blobs), and a folder target this run created."""
    created = isinstance(store, FolderStore) and not store.root.exists()
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for key in reversed(written):
            store.delete(key)
        if created and isinstance(store, FolderStore):
            shutil.rmtree(store.root, ignore_errors=True)
        raise


def _marker() -> bytes:
    return _encode({"format": BACKUP_FORMAT})


def _read_marker(store: ObjectStore) -> None:
    document = _read_json(store, MARKER)
    if document.get("format") != BACKUP_FORMAT:
        raise InvalidInputError(
            f"{MARKER} in {store.describe()} has format {document.get('format')!r}, expected "
            f"{BACKUP_FORMAT!r}; back up into a new folder or prefix"
        )


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, sort_keys=True).encode()


def _read_json(store: ObjectStore, key: str) -> dict[str, Any]:
    try:
        document = json.loads(store.get_bytes(key))
    except (IntegrityError, ValueError) as exc:
        raise InvalidInputError(
            f"{key} in {store.describe()} is not a readable latte registry backup ({exc}); "
            "pass a folder or prefix made by 'latte registry backup'"
        ) from exc
    if not isinstance(document, dict):
        raise InvalidInputError(f"{key} in {store.describe()} is not a JSON object")
    return document


def _snapshot_key(snapshot_id: str) -> str:
    return f"{SNAPSHOTS}/{snapshot_id}.json"


def list_snapshots(target: ObjectStore | Path) -> list[str]:
    """The chain's snapshot ids, oldest first; a target that is not a chain is refused."""
    store = _as_store(target)
    _require_chain(store)
    keys = store.list_keys(SNAPSHOTS)
    return [k.removeprefix(f"{SNAPSHOTS}/").removesuffix(".json") for k in keys]


def _read_snapshot(store: ObjectStore, snapshot_id: str) -> dict[str, Any]:
    document = _read_json(store, _snapshot_key(snapshot_id))
    if document.get("format") != BACKUP_FORMAT:
        raise InvalidInputError(
            f"snapshot {snapshot_id} in {store.describe()} has format "
            f"{document.get('format')!r}, expected {BACKUP_FORMAT!r}"
        )
    return document


def _prune(store: ObjectStore, keep: int) -> tuple[tuple[str, ...], int]:
    """Drop all but the ``keep`` newest snapshots, then what no kept snapshot references:
    manifests before blobs, so a tree present always has its blobs."""
    snapshots = list_snapshots(store)
    dropped, kept = snapshots[:-keep], snapshots[-keep:]
    for snapshot_id in dropped:
        store.delete(_snapshot_key(snapshot_id))
    trees = {d for s in kept for d in _trees(_read_snapshot(store, s))}
    blobs = {blob_key(e.sha256) for d in trees for e in load_manifest(store, d).files}
    stale_trees = [k for k in store.list_keys("trees") if k not in {manifest_key(d) for d in trees}]
    stale_blobs = [k for k in store.list_keys("blobs") if k not in blobs]
    for key in (*stale_trees, *stale_blobs):
        store.delete(key)
    return tuple(dropped), len(stale_blobs)


def restore_registry(
    registry: Registry,
    source: ObjectStore | Path,
    *,
    snapshot: str | None = None,
    on_bytes: OnBytes | None = None,
) -> RestoreResult:
    """Restore a snapshot (default: the newest) into an empty registry, every digest verified."""
    store = _as_store(source)
    store, snapshot_id, document = _open_backup(store, snapshot)
    if registry.models():
        raise RegistryError(
            f"restore needs an empty registry, but {registry.engine.url.database or 'it'} "
            "holds models; point registry_url and artifact_store_url at new, empty stores"
        )
    digests = _trees(document)
    for digest in digests:
        if not has_tree(store, digest):
            raise IntegrityError(
                f"snapshot {snapshot_id} in {store.describe()} references tree {digest} that "
                "the backup does not hold; restore an older snapshot"
            )
    with _undo_on_failure(registry.store) as written:
        copied, _ = _copy_trees(store, registry.store, digests, written, on_bytes)
        with translate_db_errors(registry.engine), registry.engine.begin() as connection:
            _insert_all(registry, connection, document)
    return RestoreResult(
        snapshot=snapshot_id,
        versions=len(document["versions"]),
        blobs_sent=sum(c.blobs_sent for c in copied),
        bytes_sent=sum(c.bytes_sent for c in copied),
    )


def _open_backup(
    store: ObjectStore, snapshot: str | None
) -> tuple[ObjectStore, str, dict[str, Any]]:
    """The store holding the trees, the snapshot's id and its document; a folder written
    before chains (``registry.json`` + ``artifacts/``) is read as its one snapshot."""
    if isinstance(store, FolderStore) and not store.exists(MARKER) and store.exists(LEGACY):
        document = _read_json(store, LEGACY)
        if document.get("format") != LEGACY_FORMAT:
            raise InvalidInputError(
                f"{store.path(LEGACY)} has format {document.get('format')!r}, expected "
                f"{LEGACY_FORMAT!r}"
            )
        return folder_store(store.path("artifacts")), LEGACY, document
    snapshot_id, document = _pick_snapshot(store, snapshot)
    return store, snapshot_id, document


def _require_chain(store: ObjectStore) -> None:
    if not store.exists(MARKER):
        raise InvalidInputError(
            f"{store.describe()} is not a readable latte registry backup (no {MARKER}); pass "
            "a folder or prefix made by 'latte registry backup'"
        )
    _read_marker(store)


def _pick_snapshot(store: ObjectStore, snapshot: str | None) -> tuple[str, dict[str, Any]]:
    snapshots = list_snapshots(store)
    if not snapshots:
        raise InvalidInputError(f"backup {store.describe()} holds no snapshot yet")
    if snapshot is None:
        snapshot = snapshots[-1]
    elif snapshot not in snapshots:
        raise InvalidInputError(
            f"backup {store.describe()} has no snapshot {snapshot!r}; it has "
            f"{', '.join(snapshots[-5:])}{' ...' if len(snapshots) > 5 else ''}"
        )
    return snapshot, _read_snapshot(store, snapshot)


def _insert_all(registry: Registry, connection: sa.Connection, document: dict[str, Any]) -> None:
    now = _now()
    for name, last_version in document["models"].items():
        connection.execute(
            models.insert().values(name=name, last_version=last_version, created_at=now)
        )
    ids = {row.name: row.id for row in connection.execute(sa.select(models.c.name, models.c.id))}
    for item in document["versions"]:
        values = {
            "digest": item["digest"],
            "created_at": datetime.fromisoformat(item["created"]),
            "created_by": item["created_by"],
            "blocked_reason": item["blocked_reason"],
        }
        version_id = q.insert_version(connection, ids[item["name"]], item["version"], values)
        q.insert_details(connection, version_id, item["metrics"], item["lineage"])
    for row in document["aliases"]:
        environment, _, short = row["alias"].rpartition(":")
        connection.execute(
            aliases.insert().values(
                model_id=ids[row["model"]],
                environment=environment,
                alias=short,
                version=row["version"],
                updated_at=datetime.fromisoformat(row["updated_at"]),
            )
        )
    _restore_audit(connection, document["audit"])
    for name in document["models"]:
        count = sum(1 for item in document["versions"] if item["name"] == name)
        q.add_audit(
            connection,
            at=now,
            actor=registry.actor,
            action="restore",
            model=name,
            version=None,
            detail={"versions": count},
        )


def _restore_audit(connection: sa.Connection, entries: list[dict[str, Any]]) -> None:
    rows = [
        {
            "at": datetime.fromisoformat(entry["at"]),
            "actor": entry["actor"],
            "action": entry["action"],
            "model": entry["model"],
            "version": entry["version"],
            "detail": json.dumps(entry["detail"], sort_keys=True),
        }
        for entry in entries
    ]
    if rows:
        connection.execute(audit.insert(), rows)
