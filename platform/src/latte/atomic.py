"""Atomic file writes: readers (and concurrent latte runs) never see a half-written file.

This is the platform's one temp-file + ``os.replace`` writer. The temp file has a unique name
beside the target (so threads and processes writing the same path never share one), is removed
when filling it fails, and partial files a killed writer left behind carry :data:`TEMP_PREFIX`
so :func:`sweep_partials` can find them. The writing itself is ``latte_contracts.atomic``, the
one owner of ``os.replace`` in the tree; this module adds the platform's temp-file naming and
the sweep.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from latte_contracts import atomic as contract

__all__ = [
    "TEMP_PREFIX",
    "copy_file_atomic",
    "sweep_partials",
    "write_atomic",
    "write_bytes_atomic",
    "write_text_atomic",
]

TEMP_PREFIX = ".tmp-"
Fill = Callable[[Path], object]


def write_atomic(path: Path, fill: Fill, *, mode: int = 0o644) -> None:
    """Create ``path`` by calling ``fill(temp_path)``, then renaming the temp file over it."""
    with contract.atomic_path(path, mode=mode, prefix=f"{TEMP_PREFIX}{path.name}.") as tmp:
        fill(tmp)


def write_bytes_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    write_atomic(path, lambda tmp: tmp.write_bytes(data), mode=mode)


def write_text_atomic(path: Path, text: str, *, mode: int = 0o644) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), mode=mode)


def copy_file_atomic(source: Path, path: Path) -> None:
    write_atomic(path, lambda tmp: shutil.copyfile(source, tmp))


def sweep_partials(folder: Path, *, older_than_s: float) -> int:
    """Remove temp files in ``folder`` left by writers killed more than ``older_than_s`` ago."""
    cutoff = time.time() - older_than_s
    removed = 0
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):  # another sweeper was quicker
                if entry.name.startswith(TEMP_PREFIX) and entry.stat().st_mtime < cutoff:
                    Path(entry.path).unlink()
                    removed += 1
    return removed
