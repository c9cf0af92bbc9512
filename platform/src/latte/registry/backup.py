"""Backup and restore: metadata as one JSON file, artifacts as a content-addressed folder.

A backup folder holds ``registry.json`` and ``artifacts/`` (the store layout). Restore needs
an empty registry, copies every tree with verification, then inserts all metadata in one
transaction, keeping version numbers, aliases and the audit trail.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from latte.registry import _queries as q
from latte.registry.artifacts import folder_store
from latte.registry.blobs import copy_tree
from latte.registry.db import translate_db_errors
from latte.registry.errors import InvalidInputError, RegistryError
from latte.registry.registry import Registry, _now
from latte.registry.schema import aliases, audit, models
from latte.registry.values import ARTIFACT_PREFIX

__all__ = ["BACKUP_FORMAT", "backup_registry", "restore_registry"]

BACKUP_FORMAT = "latte-registry-backup/1"
_METADATA = "registry.json"


def backup_registry(registry: Registry, dest: Path) -> int:
    """Write a backup folder at ``dest`` (new or empty); returns the number of versions."""
    if dest.exists() and any(dest.iterdir()):
        raise InvalidInputError(f"backup folder {dest} is not empty; choose a new folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        document = _snapshot(registry)
        target = folder_store(staging / "artifacts")
        for digest in _trees(document):
            copy_tree(registry.store, target, digest)
        (staging / _METADATA).write_text(json.dumps(document, indent=1, sort_keys=True))
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(document["versions"])


def _trees(document: dict[str, Any]) -> list[str]:
    """Every tree the versions reference: the main one and extras (lineage ``artifact.*``)."""
    found = {v["digest"] for v in document["versions"]}
    for version in document["versions"]:
        lineage = version.get("lineage") or {}
        found |= {d for k, d in lineage.items() if k.startswith(ARTIFACT_PREFIX)}
    return sorted(found)


def _snapshot(registry: Registry) -> dict[str, Any]:
    with translate_db_errors(registry.engine), registry.engine.begin() as connection:
        counters = connection.execute(sa.select(models.c.name, models.c.last_version)).all()
        return {
            "format": BACKUP_FORMAT,
            "models": {row.name: int(row.last_version) for row in counters},
            "versions": [mv.to_dict() for mv in q.load_versions(connection, sa.true())],
            "aliases": [_jsonable(row) for row in q.load_aliases(connection, None)],
            "audit": [entry.to_dict() for entry in q.load_audit(connection, None)],
        }


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def restore_registry(registry: Registry, source: Path) -> int:
    """Restore a backup into an empty registry; returns the number of versions restored."""
    document = _read_backup(source)
    if registry.models():
        raise RegistryError(
            f"restore needs an empty registry, but {registry.engine.url.database or 'it'} "
            "holds models; point registry_url and artifact_store_url at new, empty stores"
        )
    backup_store = folder_store(source / "artifacts")
    for digest in _trees(document):
        copy_tree(backup_store, registry.store, digest)
    with translate_db_errors(registry.engine), registry.engine.begin() as connection:
        _insert_all(registry, connection, document)
    return len(document["versions"])


def _read_backup(source: Path) -> dict[str, Any]:
    path = source / _METADATA
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(
            f"{path} is not a readable latte registry backup ({exc}); pass a folder made by "
            "'latte registry backup'"
        ) from exc
    if document.get("format") != BACKUP_FORMAT:
        raise InvalidInputError(
            f"{path} has format {document.get('format')!r}, expected {BACKUP_FORMAT!r}"
        )
    return document


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
