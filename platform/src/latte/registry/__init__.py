"""The model registry: immutable, content-addressed model versions with metrics, lineage,
aliases per environment and an append-only audit log. README.md beside this file documents
the API; everything public is re-exported here.
"""

from __future__ import annotations

from latte.registry.artifacts import STORES, ArtifactStore, LocalStore, open_store
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
from latte.registry.export import ExportResult
from latte.registry.registry import Registry, open_registry
from latte.registry.values import AuditEntry, ModelVersion, Selector, parse_selector

__all__ = [
    "STORES",
    "ArtifactStore",
    "AuditEntry",
    "BlockedError",
    "ExportResult",
    "IntegrityError",
    "InvalidInputError",
    "LocalStore",
    "ModelVersion",
    "NotFoundError",
    "Registry",
    "RegistryError",
    "Selector",
    "StoreError",
    "backup_registry",
    "check_digest",
    "open_registry",
    "open_store",
    "parse_selector",
    "register_build",
    "restore_registry",
    "tree_digest",
]
