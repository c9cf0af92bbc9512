"""Artifact stores: one small protocol, a local folder and S3/MinIO implementations.

Stores are dumb key -> bytes maps; content addressing and verification live in
:mod:`latte.registry.blobs`, so every store gets them for free.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from latte.s3 import S3Location, is_s3_url
from latte_contracts.atomic import atomic_path

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = ["STORES", "ArtifactStore", "LocalStore", "open_store", "store_kind"]


class ArtifactStore(Protocol):
    """Where artifact bytes live. Keys are ``/``-separated relative paths."""

    def describe(self) -> str:
        """Where this store is, for messages (never includes secrets)."""
        ...

    def exists(self, key: str) -> bool: ...

    def put_file(self, key: str, source: Path) -> None: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_file(self, key: str, dest: Path) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...


class LocalStore:
    """A folder; every write goes through a temp file and ``os.replace``, so it is atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, key: str, source: Path) -> None:
        self._write(key, lambda tmp: shutil.copyfile(source, tmp))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda tmp: Path(tmp).write_bytes(data))

    def _write(self, key: str, fill: Callable[[str], object]) -> None:
        with atomic_path(self._path(key)) as tmp:
            fill(str(tmp))

    def get_file(self, key: str, dest: Path) -> None:
        shutil.copyfile(self._require(key), dest)

    def get_bytes(self, key: str) -> bytes:
        return self._require(key).read_bytes()

    def _require(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            from latte.registry.errors import IntegrityError

            raise IntegrityError(
                f"artifact {key!r} is missing from {self.root}; restore the store from a backup"
            )
        return path

    def list_keys(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _open_local(url: str, settings: Settings) -> ArtifactStore:
    return LocalStore(settings.path(url))


def _open_s3(url: str, settings: Settings) -> ArtifactStore:
    from latte.registry.s3store import S3Store  # deferred: minio is only needed for S3

    return S3Store.open(S3Location.parse(url), settings)


def store_kind(url: str) -> str:
    return "s3" if is_s3_url(url) else "local"


# The extension point: URL kind -> opener. Add an entry to support another backend.
STORES: dict[str, Callable[[str, Settings], ArtifactStore]] = {
    "local": _open_local,
    "s3": _open_s3,
}


def open_store(url: str, settings: Settings) -> ArtifactStore:
    """The store for ``url``: a folder (relative to the root) or ``s3://bucket/prefix``."""
    return STORES[store_kind(url)](url, settings)
