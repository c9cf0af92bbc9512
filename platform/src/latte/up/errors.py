"""``latte up`` errors: which part of the environment failed, and its own last line."""

from __future__ import annotations

from latte.errors import LatteError

__all__ = ["UpError"]


class UpError(LatteError):
    """A workload of the environment could not be started (or stopped serving)."""
