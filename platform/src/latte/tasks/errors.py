"""Task runner errors: all are :class:`latte.errors.LatteError`, so the CLI prints one line."""

from __future__ import annotations

from latte.errors import LatteError

__all__ = ["BuildFileError", "TargetFailedError", "TaskError"]


class TaskError(LatteError):
    """Something about targets, the cache or git that the user can fix."""


class BuildFileError(TaskError):
    """A BUILD.toml is malformed: the message names the file, the target and the fix."""

    exit_code = 2

    def __init__(self, path: str, target: str | None, problem: str) -> None:
        where = f"{path}: target '{target}'" if target else path
        super().__init__(f"{where}: {problem}")


class TargetFailedError(TaskError):
    """One or more actions failed (their logs were already shown)."""
