"""Content digests: the tree digest that identifies a model version, and file hashes.

The tree digest is the sha256 over every regular file sorted by relative POSIX path; for
each file, the path, a NUL byte, then its bytes (README.md spells it out for other packages).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

from latte.registry.errors import IntegrityError, InvalidInputError

__all__ = [
    "DIGEST_PREFIX",
    "FileEntry",
    "Manifest",
    "check_digest",
    "check_relative_path",
    "file_sha256",
    "hash_tree",
    "tree_digest",
    "tree_files",
]

DIGEST_PREFIX = "sha256:"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_CHUNK = 1 << 20


def check_digest(value: str) -> str:
    """Return ``value`` if it is ``sha256:<64 lowercase hex>``, else raise InvalidInputError."""
    if not _DIGEST.match(value):
        raise InvalidInputError(
            f"malformed digest {value!r}: write it as sha256:<64 lowercase hex digits>"
        )
    return value


def tree_files(root: Path) -> list[str]:
    """Relative POSIX paths of the regular files below ``root``, sorted; refuses odd trees."""
    if not root.is_dir():
        raise InvalidInputError(
            f"artifact folder {str(root)!r} does not exist or is not a folder; "
            "build the model first (latte build) or pass the exported model folder"
        )
    paths: list[str] = []
    for path in root.rglob("*"):
        if path.is_symlink():
            raise InvalidInputError(
                f"{str(path)!r} is a symlink; artifacts must be regular files (copy it instead)"
            )
        if path.is_file():
            paths.append(path.relative_to(root).as_posix())
    if not paths:
        raise InvalidInputError(
            f"artifact folder {str(root)!r} holds no files; nothing to register"
        )
    return sorted(paths)


def tree_digest(root: Path) -> str:
    """The ``sha256:<hex>`` digest of the tree at ``root``."""
    return hash_tree(root).digest


def hash_tree(root: Path) -> Manifest:
    """Read every file once, computing the tree digest and each file's own hash."""
    tree = hashlib.sha256()
    entries: list[FileEntry] = []
    for rel in tree_files(root):
        tree.update(rel.encode("utf-8") + b"\0")
        own = hashlib.sha256()
        size = 0
        with (root / rel).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                tree.update(chunk)
                own.update(chunk)
                size += len(chunk)
        entries.append(FileEntry(path=rel, sha256=own.hexdigest(), size=size))
    return Manifest(digest=DIGEST_PREFIX + tree.hexdigest(), files=tuple(entries))


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One file of a stored tree: its relative path, content hash (hex) and size."""

    path: str
    sha256: str
    size: int


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


def file_sha256(path: Path) -> str:
    """The hex sha256 of one file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
