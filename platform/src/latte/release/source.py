"""The source commit a release is cut from, read with git.

The commit is the newest one touching anything outside ``gitops/envs/``: committing a release
file does not change what was built, so it must not produce a new release.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from latte.release.errors import ReleaseError

__all__ = ["ENVS_PATH", "SourceCommit", "read_source"]

ENVS_PATH = "gitops/envs"


@dataclasses.dataclass(frozen=True)
class SourceCommit:
    """The commit, its committer time (unix seconds) and tracked files changed since."""

    sha: str
    time: int
    dirty: tuple[str, ...] = ()


def read_source(root: Path) -> SourceCommit:
    """Commit and cleanliness of the tree at ``root``, ignoring ``gitops/envs``."""
    outside = [".", f":(exclude){ENVS_PATH}"]
    line = _git(root, "log", "-1", "--format=%H %ct", "--", *outside).strip()
    if not line:
        raise ReleaseError(f"{root} has no commit; commit the source tree before releasing")
    sha, time = line.split()
    status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", *outside)
    dirty = tuple(entry[3:] for entry in status.splitlines() if entry.strip())
    return SourceCommit(sha=sha, time=int(time), dirty=dirty)


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise ReleaseError(f"cannot run git ({exc}); install git and retry") from exc
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        raise ReleaseError(
            f"git {args[0]} in {root}: {reason}; run latte release in a git checkout"
        )
    return done.stdout
