"""The artifact digest: the same definition the registry uses (latte.registry.digest).

sha256 over every regular file below the root, sorted by relative POSIX path; for each file
its path, a NUL byte, then its bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["tree_digest"]

_CHUNK = 1 << 20


def tree_digest(root: Path) -> str:
    """``sha256:<hex>`` of the tree at ``root``."""
    digest = hashlib.sha256()
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    for rel in paths:
        digest.update(rel.encode("utf-8") + b"\0")
        with (root / rel).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"
