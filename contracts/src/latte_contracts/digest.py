"""The tree digest: what identifies an exported model, everywhere.

``sha256:<hex>`` of, for every regular file below the root sorted by relative POSIX path, the
path encoded as UTF-8, a NUL byte, then the file's bytes. The registry stores versions under
it, ``metrics.json`` records it as ``artifact_digest``, the benchmark reports the digest it
measured and the release pins it, so all of them compute it here.

Symlink policy: a tree holding a symlink (to a file or a folder) has no digest and is refused.
Following links would let a digest depend on files outside the tree, and the artifact stores
(a folder, S3) hold regular files only; the model exports never write links.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

from latte_contracts.errors import DigestError

__all__ = [
    "DIGEST_PREFIX",
    "FileEntry",
    "TreeHash",
    "file_sha256",
    "hash_tree",
    "is_digest",
    "tree_digest",
    "tree_files",
]

DIGEST_PREFIX = "sha256:"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One file of a tree: its relative POSIX path, content hash (hex) and size in bytes."""

    path: str
    sha256: str
    size: int


@dataclasses.dataclass(frozen=True)
class TreeHash:
    """A tree's digest and its files, from one read of every byte."""

    digest: str
    files: tuple[FileEntry, ...]


def is_digest(value: str) -> bool:
    """Whether ``value`` is written as ``sha256:<64 lowercase hex>``."""
    return bool(_DIGEST.match(value))


def tree_files(root: Path, pattern: str = "**/*") -> list[str]:
    """Relative POSIX paths of the regular files below ``root`` matching ``pattern``, sorted.

    Refuses a missing folder, one without files, and any symlink (see the module docstring).
    """
    if not root.is_dir():
        raise DigestError(
            f"artifact folder {str(root)!r} does not exist or is not a folder; "
            "build the model first (latte build) or pass the exported model folder"
        )
    paths: list[str] = []
    for path in root.glob(pattern):
        if path.is_symlink():
            raise DigestError(
                f"{str(path)!r} is a symlink; artifacts must be regular files (copy it instead)"
            )
        if path.is_file():
            paths.append(path.relative_to(root).as_posix())
    if not paths:
        raise DigestError(f"artifact folder {str(root)!r} holds no files; nothing to register")
    return sorted(paths)


def hash_tree(root: Path, pattern: str = "**/*") -> TreeHash:
    """Read every file once, computing the tree digest and each file's own hash."""
    tree = hashlib.sha256()
    entries: list[FileEntry] = []
    for rel in tree_files(root, pattern):
        tree.update(rel.encode("utf-8") + b"\0")
        own = hashlib.sha256()
        size = 0
        with (root / rel).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                tree.update(chunk)
                own.update(chunk)
                size += len(chunk)
        entries.append(FileEntry(path=rel, sha256=own.hexdigest(), size=size))
    return TreeHash(digest=DIGEST_PREFIX + tree.hexdigest(), files=tuple(entries))


def tree_digest(root: Path, pattern: str = "**/*") -> str:
    """The ``sha256:<hex>`` digest of the tree at ``root``."""
    return hash_tree(root, pattern).digest


def file_sha256(path: Path) -> str:
    """The hex sha256 of one file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
