"""The root of every error latte_models raises on purpose.

``python -m latte_models`` prints a :class:`ModelsError` as one line and exits with its
``exit_code``; anything else is a bug and keeps its traceback. The package does not depend on
latte-platform (the task runner calls it as a command), so the root is its own.
"""

from __future__ import annotations

__all__ = ["ConfigError", "ExportError", "GateError", "ModelsError"]


class ModelsError(Exception):
    """Something the user can fix; the message says what failed and what to do next."""

    exit_code = 1


class ConfigError(ModelsError):
    """A model config file or a command-line override holds a value the build cannot use."""

    exit_code = 2


class GateError(ModelsError):
    """The trained model scored below a quality gate on the held-out split."""

    exit_code = 3


class ExportError(ModelsError):
    """An exported model does not reproduce the framework's outputs within tolerance."""

    exit_code = 4
