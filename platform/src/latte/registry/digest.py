"""The registry's view of the tree digest (defined once in :mod:`latte_contracts.digest`).

This module adds what only the registry needs: digest strings checked into its own error,
and the :class:`Manifest` it stores beside the blobs of each tree.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from latte.registry.errors import IntegrityError, InvalidInputError
from latte_contracts import digest as contract
from latte_contracts.digest import DIGEST_PREFIX, FileEntry, file_sha256
from latte_contracts.errors import DigestError

__all__ = [
    "DIGEST_PREFIX",
    "FileEntry",
    "Manifest",
    "check_digest",
    "check_relative_path",
    "file_sha256",
    "hash_tree",
    "tree_digest",
    "verify_tree",
]


def check_digest(value: str) -> str:
    """Return ``value`` if it is ``sha256:<64 lowercase hex>``, else raise InvalidInputError."""
    if not contract.is_digest(value):
        raise InvalidInputError(
            f"malformed digest {value!r}: write it as sha256:<64 lowercase hex digits>"
        )
    return value


def tree_digest(root: Path) -> str:
    """The ``sha256:<hex>`` digest of the tree at ``root``."""
    return hash_tree(root).digest


def hash_tree(root: Path) -> Manifest:
    """Read every file once, computing the tree digest and each file's own hash."""
    try:
        tree = contract.hash_tree(root)
    except DigestError as exc:
        raise InvalidInputError(str(exc)) from exc
    return Manifest(digest=tree.digest, files=tree.files)


def verify_tree(root: Path, expected: str, where: str) -> None:
    """Raise IntegrityError unless the tree materialised at ``root`` has digest ``expected``."""
    try:
        actual = contract.tree_digest(root)
    except DigestError as exc:
        actual = f"nothing ({exc})"
    if actual != expected:
        raise IntegrityError(
            f"tree {expected} in {where} verifies as {actual}; the store is corrupt: "
            "restore it from a backup"
        )


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What a stored tree holds; saved as JSON beside the blobs, keyed by the tree digest."""

    digest: str
    files: tuple[FileEntry, ...]

    def to_json(self) -> bytes:
        files = [dataclasses.asdict(entry) for entry in self.files]
        return json.dumps({"digest": self.digest, "files": files}, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes, *, where: str) -> Manifest:
        try:
            raw = json.loads(data)
            files = tuple(
                FileEntry(check_relative_path(str(f["path"])), str(f["sha256"]), int(f["size"]))
                for f in raw["files"]
            )
            return cls(digest=check_digest(str(raw["digest"])), files=files)
        except (ValueError, KeyError, TypeError, InvalidInputError) as exc:
            raise IntegrityError(
                f"manifest {where} is corrupt ({exc}); restore the artifact store from a backup"
            ) from exc


def check_relative_path(path: str) -> str:
    """Return ``path`` if it names a file strictly inside a tree, else raise ValueError.

    Manifests come from a store anyone with bucket access can write: a ``../`` or absolute
    path would make a download write outside its staging folder, so it is refused before
    anything is written.
    """
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\0" in path
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise ValueError(f"file path {path!r} escapes the tree or is not a plain relative path")
    return path
