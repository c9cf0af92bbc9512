"""Errors of ``latte release``: each names the gate, file or value and what to do next."""

from __future__ import annotations

from latte.errors import LatteError

__all__ = ["GateFailedError", "ReleaseError"]


class ReleaseError(LatteError):
    """The release cannot be written (missing inputs, bad files, not a git checkout)."""


class GateFailedError(ReleaseError):
    """A gate (tests, security, quality, slo) did not pass for this commit."""
