"""The root of every error latte raises on purpose.

The CLI turns a :class:`LatteError` into one line on stderr and its ``exit_code``; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["CommandError", "ConfigError", "GitError", "LatteError", "UsageError"]


class LatteError(Exception):
    """Something the user can fix; the message says what failed and what to do next."""

    exit_code = 1


class UsageError(LatteError):
    """The command line itself is wrong."""

    exit_code = 2


class ConfigError(LatteError):
    """latte.toml or a LATTE_* variable holds a value latte cannot use."""

    exit_code = 2


class CommandError(LatteError):
    """A child program could not start, timed out or failed (see :mod:`latte.proc`)."""


class GitError(CommandError):
    """A git command failed; the message carries git's own reason (see :mod:`latte.git`)."""
