"""Object stores: ``/``-separated keys -> bytes, in a folder or an S3 bucket.

This is the one storage layer below both content-addressed layouts latte keeps: the task cache
(:mod:`latte.tasks.store`, :mod:`latte.tasks.remote`) and the registry's artifacts
(:mod:`latte.registry.blobs`). Stores are dumb; addressing by digest and verification live in
:mod:`latte.cas`. Failures are raised as the *caller's* error classes (:class:`StoreErrors`),
``from`` the cause, so each package keeps its own exception root.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from latte import atomic
from latte.errors import LatteError

__all__ = ["FolderStore", "ObjectMissingError", "ObjectStore", "StoreErrors", "StoreFailedError"]

# A temp file older than this is a partial write whose writer was killed (a real write of even
# a multi-GB model takes minutes), so the first write into its folder removes it.
STALE_PARTIAL_S = 3600.0


class ObjectMissingError(LatteError):
    """The key is not in the store."""


class StoreFailedError(LatteError):
    """The store is unreachable or refuses the request."""


@dataclasses.dataclass(frozen=True)
class StoreErrors:
    """The error classes a store raises: for a missing key, a refusal, no connection."""

    missing: type[LatteError] = ObjectMissingError
    refused: type[LatteError] = StoreFailedError
    unreachable: type[LatteError] = StoreFailedError


class ObjectStore(Protocol):
    """Where bytes live. Keys are ``/``-separated relative paths."""

    errors: StoreErrors

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


class FolderStore:
    """A folder; every write is atomic (:mod:`latte.atomic`), so readers see whole objects.

    The first write into a sub-folder in a process sweeps the partial files killed writers
    left there (older than :data:`STALE_PARTIAL_S`).
    """

    def __init__(self, root: Path, errors: StoreErrors | None = None) -> None:
        self.root = root
        self.errors = errors or StoreErrors()
        self._swept: set[Path] = set()

    def describe(self) -> str:
        return str(self.root)

    def path(self, key: str) -> Path:
        return self.root / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def put_file(self, key: str, source: Path) -> None:
        self._before_write(self.path(key))
        atomic.copy_file_atomic(source, self.path(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._before_write(self.path(key))
        atomic.write_bytes_atomic(self.path(key), data)

    def _before_write(self, target: Path) -> None:
        if target.parent not in self._swept:
            atomic.sweep_partials(target.parent, older_than_s=STALE_PARTIAL_S)
            self._swept.add(target.parent)

    def get_file(self, key: str, dest: Path) -> None:
        try:
            shutil.copyfile(self.path(key), dest)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise self._missing(key) from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise self._missing(key) from exc

    def _missing(self, key: str) -> LatteError:
        return self.errors.missing(
            f"artifact {key!r} is missing from {self.root}; restore the store from a backup"
        )

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.files(prefix))

    def files(self, prefix: str = "") -> Iterator[Path]:
        """Every whole object below ``prefix`` (partial writes are not objects)."""
        base = self.path(prefix) if prefix else self.root
        if not base.is_dir():
            return
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(atomic.TEMP_PREFIX):
                yield path

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
