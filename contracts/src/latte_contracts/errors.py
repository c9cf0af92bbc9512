"""The exception tree of latte_contracts; every error names the file and what to do next.

    ContractError
    ├── DigestError          a tree that has no digest (missing, empty, holds a symlink)
    └── ReportError          a report file that cannot be read as its contract says
        ├── ReportSyntaxError    not readable, or not JSON
        ├── ReportShapeError     JSON, but not the report's shape (not an object, a field's type)
        └── ReportVersionError   a schema version this code does not know

Each package turns these into its own errors, adding the fix that fits its caller (a
``ReportError`` carries ``path`` and ``detail`` for that).
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ContractError",
    "DigestError",
    "ReportError",
    "ReportShapeError",
    "ReportSyntaxError",
    "ReportVersionError",
]


class ContractError(Exception):
    """Root of every latte_contracts error."""


class DigestError(ContractError):
    """The folder has no tree digest: it is missing, empty or holds a symlink."""


class ReportError(ContractError):
    """A report file that cannot be read; ``detail`` is what was wrong, without the path."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


class ReportSyntaxError(ReportError):
    """The file cannot be read, or is not JSON; ``reason`` is the reader's own message."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path, f"not valid JSON ({reason})")
        self.reason = reason


class ReportShapeError(ReportError):
    """The file is JSON but not the report's shape: ``field`` is the key at fault, ``None``
    when the file is not a JSON object at all."""

    def __init__(self, path: Path, detail: str, field: str | None = None) -> None:
        super().__init__(path, detail)
        self.field = field


class ReportVersionError(ReportError):
    """The file declares a schema version this code does not read."""
