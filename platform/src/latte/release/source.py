"""The source commit a release is cut from, read with git.

The commit is the newest one touching anything outside ``gitops/envs/``: committing a release
file does not change what was built, so it must not produce a new release.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from latte.git import Git
from latte.release.errors import ReleaseError
from latte.releasefile import ENVS_PATH

__all__ = ["ENVS_PATH", "SourceCommit", "read_source"]


@dataclasses.dataclass(frozen=True)
class SourceCommit:
    """The commit, its committer time (unix seconds) and tracked files changed since."""

    sha: str
    time: int
    dirty: tuple[str, ...] = ()


def read_source(root: Path) -> SourceCommit:
    """Commit and cleanliness of the tree at ``root``, ignoring ``gitops/envs``."""
    outside = [".", f":(exclude){ENVS_PATH}"]
    git = Git(root)
    line = git.run("log", "-1", "--format=%H %ct", "--", *outside)
    if not line:
        raise ReleaseError(f"{root} has no commit; commit the source tree before releasing")
    sha, time = line.split()
    status = git.run_bytes("status", "--porcelain", "--untracked-files=no", "--", *outside)
    dirty = tuple(entry[3:] for entry in status.decode().splitlines() if entry.strip())
    return SourceCommit(sha=sha, time=int(time), dirty=dirty)
