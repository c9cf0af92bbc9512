"""Replacing files so that a reader sees the old content or the new, never half of it.

Every writer in latte that must not leave a torn file goes through here: the data goes to a
temp file with a unique name in the target's folder (so concurrent writers of the same file,
threads or processes, never share one, and the final rename stays on one file system), is
flushed to disk, then renamed over the target with ``os.replace``. On any failure the temp
file is removed and the target is left as it was.

Modes: ``mkstemp`` creates 0600 files; the result gets ``mode`` when given, else the mode of
the file it replaces, else 0644 (what people, git and Triton's container expect).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "move_into_place", "write_atomic"]

_DEFAULT_MODE = 0o644


def write_atomic(
    path: Path, data: bytes | str, *, mode: int | None = None, prefix: str | None = None
) -> None:
    """Replace ``path`` with ``data`` (``str`` is written as UTF-8), creating its folder."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path, mode=mode, prefix=prefix) as tmp:
        tmp.write_bytes(payload)


@contextlib.contextmanager
def atomic_path(
    path: Path, *, mode: int | None = None, prefix: str | None = None
) -> Iterator[Path]:
    """A temp path beside ``path`` to fill (any way: copy, zip, extract); on a clean exit it
    replaces ``path``, on an exception it is removed and ``path`` is untouched. ``prefix``
    names the temp files (default ``.<name>.``), for a caller that sweeps the ones a killed
    writer left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    start = prefix if prefix is not None else f".{path.name}."
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=start, suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        final = mode if mode is not None else _existing_mode(path)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.chmod(final)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def move_into_place(staged: Path, target: Path) -> None:
    """Rename a finished file or folder over ``target`` (same folder; an old folder at
    ``target`` must be removed first): the one place a staged build, restore or shim
    appears in its final location."""
    os.replace(staged, target)


def _existing_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return _DEFAULT_MODE
