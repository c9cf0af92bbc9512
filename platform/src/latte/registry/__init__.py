"""The model registry: immutable, content-addressed model versions with metrics, lineage,
aliases per environment and an append-only audit log. README.md beside this file documents
the API; everything public is re-exported here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latte.registry.artifacts import STORES, ArtifactStore, folder_store, open_store
    from latte.registry.backup import backup_registry, restore_registry
    from latte.registry.build import register_build
    from latte.registry.digest import check_digest, tree_digest
    from latte.registry.errors import (
        BlockedError,
        IntegrityError,
        InvalidInputError,
        NotFoundError,
        RegistryError,
        StoreError,
    )
    from latte.registry.export import ExportResult, export_repository
    from latte.registry.registry import Registry, open_registry
    from latte.registry.values import AuditEntry, ModelVersion, Selector, parse_selector

# Public name -> defining module. Imported on first use (PEP 562), so `latte --help` and the
# commands that never touch the registry do not pay for SQLAlchemy.
_HOMES = {
    "STORES": "artifacts",
    "ArtifactStore": "artifacts",
    "folder_store": "artifacts",
    "open_store": "artifacts",
    "backup_registry": "backup",
    "restore_registry": "backup",
    "register_build": "build",
    "check_digest": "digest",
    "tree_digest": "digest",
    "BlockedError": "errors",
    "IntegrityError": "errors",
    "InvalidInputError": "errors",
    "NotFoundError": "errors",
    "RegistryError": "errors",
    "StoreError": "errors",
    "ExportResult": "export",
    "export_repository": "export",
    "Registry": "registry",
    "open_registry": "registry",
    "AuditEntry": "values",
    "ModelVersion": "values",
    "Selector": "values",
    "parse_selector": "values",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'latte.registry' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"latte.registry.{_HOMES[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = [
    "STORES",
    "ArtifactStore",
    "AuditEntry",
    "BlockedError",
    "ExportResult",
    "IntegrityError",
    "InvalidInputError",
    "ModelVersion",
    "NotFoundError",
    "Registry",
    "RegistryError",
    "Selector",
    "StoreError",
    "backup_registry",
    "check_digest",
    "export_repository",
    "folder_store",
    "open_registry",
    "open_store",
    "parse_selector",
    "register_build",
    "restore_registry",
    "tree_digest",
]
