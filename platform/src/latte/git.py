"""The one git helper: every git command latte runs goes through :class:`Git`.

Promotion commits are built with plumbing (a private index, ``commit-tree``, ``update-ref``)
so the branch is created without checking anything out: the user's working tree, index and
current branch are never touched, even with uncommitted work in them.
"""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import datetime
from pathlib import Path

from latte import proc
from latte.errors import GitError

__all__ = ["Git", "GitError"]

_ZERO = "0" * 40


@dataclasses.dataclass(frozen=True)
class Git:
    """A repository at ``root``; every method runs one or a few git commands."""

    root: Path

    def run(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
        return self.run_bytes(*args, stdin=stdin, env=env).decode("utf-8").strip()

    def run_bytes(
        self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> bytes:
        # git itself needs PATH, HOME and its identity variables, so the child inherits them.
        done = proc.run(
            ["git", *args], cwd=self.root, stdin=stdin, extra_env=env, error=GitError,
        )  # fmt: skip
        return done.stdout

    def head(self) -> str | None:
        """The checked-out commit, or None when ``root`` is not a git checkout with commits."""
        try:
            commit = self.run("rev-parse", "HEAD")
        except GitError:
            return None
        return commit if len(commit) == 40 else None

    def rev(self, ref: str) -> str:
        """The commit id ``ref`` names, or a GitError naming the ref."""
        try:
            return self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitError as exc:
            raise GitError(
                f"{ref!r} is not a commit in {self.root}; name a branch or commit"
            ) from exc

    def current_branch(self) -> str:
        try:
            return self.run("symbolic-ref", "--short", "HEAD")
        except GitError as exc:
            raise GitError("HEAD is detached: pass --base <branch> to name the base") from exc

    def show(self, ref: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``ref``, or None when it does not exist there."""
        if not self.run("ls-tree", "--name-only", ref, "--", path):
            return None
        return self.run_bytes("show", f"{ref}:{path}")

    def file_log(self, ref: str, path: str, *, first_parent: bool = False) -> list[str]:
        """Commits that changed ``path`` reachable from ``ref``, newest first."""
        flags = ["--first-parent"] if first_parent else []
        out = self.run("log", *flags, "--format=%H", ref, "--", path)
        return out.split() if out else []

    def commit_time(self, commit: str) -> datetime:
        return datetime.fromisoformat(self.run("show", "-s", "--format=%cI", commit))

    def message(self, commit: str) -> str:
        return self.run("show", "-s", "--format=%B", commit)

    def trailers(self, commit: str) -> dict[str, str]:
        """The commit message's trailers (last value wins for a repeated key)."""
        parsed = self.run("interpret-trailers", "--parse", stdin=self.message(commit).encode())
        pairs = (line.split(":", 1) for line in parsed.splitlines() if ":" in line)
        return {key.strip(): value.strip() for key, value in pairs}

    def branch_exists(self, branch: str) -> bool:
        return bool(self.run("for-each-ref", "--format=%(refname)", f"refs/heads/{branch}"))

    def branches(self, prefix: str) -> list[str]:
        out = self.run("for-each-ref", "--format=%(refname:short)", f"refs/heads/{prefix}")
        return out.split() if out else []

    def has_remote(self, remote: str) -> bool:
        return remote in self.run("remote").split()

    def remote_branch_exists(self, remote: str, branch: str) -> bool:
        return bool(self.run("ls-remote", "--heads", remote, f"refs/heads/{branch}"))

    def push(self, remote: str, branch: str) -> None:
        self.run("push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}")

    def commit_files(self, base: str, branch: str, files: dict[str, bytes], message: str) -> str:
        """Create ``branch`` at a new commit on ``base`` that writes ``files``; return its id.

        Refuses to move an existing branch (update-ref with the all-zero old value).
        """
        with tempfile.TemporaryDirectory(prefix="latte-promote-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.run("read-tree", base, env=env)
            for path, data in files.items():
                blob = self.run("hash-object", "-w", "--stdin", stdin=data)
                self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.run("write-tree", env=env)
        commit = self.run("commit-tree", tree, "-p", base, "-F", "-", stdin=message.encode())
        self.run("update-ref", f"refs/heads/{branch}", commit, _ZERO)
        return commit
