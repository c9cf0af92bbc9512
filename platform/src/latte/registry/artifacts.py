"""Artifact stores: the registry's :class:`~latte.objects.ObjectStore`, a folder or S3.

Stores are dumb key -> bytes maps (:mod:`latte.objects`, :mod:`latte.s3`); content
addressing and verification live in :mod:`latte.registry.blobs`, so every store gets them for
free. Their failures are the registry's own errors (:data:`REGISTRY_ERRORS`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from latte.objects import FolderStore, ObjectStore, StoreErrors
from latte.registry.errors import IntegrityError, StoreError
from latte.s3 import S3Location, is_s3_url

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = [
    "REGISTRY_ERRORS",
    "STORES",
    "ArtifactStore",
    "folder_store",
    "open_store",
    "s3_store",
    "store_kind",
]

ArtifactStore = ObjectStore
REGISTRY_ERRORS = StoreErrors(missing=IntegrityError, refused=StoreError, unreachable=StoreError)


def folder_store(root: Path) -> FolderStore:
    """A local artifact folder (partial blobs of killed registrations are swept on write)."""
    return FolderStore(root, REGISTRY_ERRORS)


def s3_store(location: S3Location, settings: Settings) -> ObjectStore:
    from latte.s3 import BucketStore  # minio is imported only when S3 is used

    return BucketStore.open(location, settings, REGISTRY_ERRORS)


def _open_local(url: str, settings: Settings) -> ObjectStore:
    return folder_store(settings.path(url))


def _open_s3(url: str, settings: Settings) -> ObjectStore:
    return s3_store(S3Location.parse(url), settings)


def store_kind(url: str) -> str:
    return "s3" if is_s3_url(url) else "local"


# The extension point: URL kind -> opener. Add an entry to support another backend.
STORES: dict[str, Callable[[str, Settings], ObjectStore]] = {
    "local": _open_local,
    "s3": _open_s3,
}


def open_store(url: str, settings: Settings) -> ObjectStore:
    """The store for ``url``: a folder (relative to the root) or ``s3://bucket/prefix``."""
    return STORES[store_kind(url)](url, settings)
