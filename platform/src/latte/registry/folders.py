"""Filling a destination folder safely: refuse what latte did not write, swap in by renames.

Everything is staged in a hidden folder *inside* the destination (never beside it: nothing
above the destination is touched), verified there, then renamed into place one top-level
entry at a time, the marker last. A failure before the swap leaves the destination as it
was; a destination latte created is removed again.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from latte.registry.errors import InvalidInputError
from latte.registry.marker import MARKER, RepositoryMarker

__all__ = ["STAGING_PREFIX", "check_destination", "staged_folder", "swap_in"]

STAGING_PREFIX = ".latte-staging-"
_OLD_PREFIX = ".latte-old-"


def check_destination(dest: Path, guards: Sequence[Path] = ()) -> None:
    """Refuse a file, a folder holding a guarded path, or a non-empty folder without marker."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise InvalidInputError(
            f"destination {dest} exists and is not a folder; pass a new or empty folder"
        )
    resolved = dest.resolve()
    for guard in guards:
        if guard.resolve().is_relative_to(resolved):
            raise InvalidInputError(
                f"destination {dest} is (or contains) {guard}; latte would replace it: pass a "
                "new folder, e.g. build/triton-repo"
            )
    if dest.is_dir() and any(dest.iterdir()) and RepositoryMarker.read(dest) is None:
        raise InvalidInputError(
            f"destination {dest} is not empty and latte did not write it (no {MARKER}); "
            "pass a new or empty folder"
        )


@contextmanager
def staged_folder(dest: Path, guards: Sequence[Path] = ()) -> Iterator[Path]:
    """A fresh staging folder inside ``dest``; fill it, then :func:`swap_in` it."""
    check_destination(dest, guards)
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=STAGING_PREFIX))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def swap_in(staging: Path, dest: Path, marker: RepositoryMarker) -> None:
    """Rename every entry of ``staging`` into ``dest``, retire the rest, write the marker."""
    old = Path(tempfile.mkdtemp(dir=dest, prefix=_OLD_PREFIX))
    fresh = {item.name for item in staging.iterdir()}
    try:
        for name in sorted(fresh):  # one rename per model: Triton never sees half of one
            current = dest / name
            if current.exists():
                current.rename(old / name)
            (staging / name).rename(current)
        for stale in list(dest.iterdir()):
            if stale.name not in fresh and not _ours(stale.name):
                stale.rename(old / stale.name)
        marker.write(dest)
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _ours(name: str) -> bool:
    return name == MARKER or name.startswith((STAGING_PREFIX, _OLD_PREFIX))
