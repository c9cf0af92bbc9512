"""The drill's one exception root."""

from __future__ import annotations

from latte.errors import LatteError

__all__ = ["DrillError"]


class DrillError(LatteError):
    """The drill could not run, or what it restored does not serve what it backed up."""
