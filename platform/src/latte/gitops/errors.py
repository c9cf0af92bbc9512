"""Errors of ``latte gitops``: one line each, naming what failed and what to do next."""

from __future__ import annotations

from latte.errors import LatteError

__all__ = ["CheckFailedError", "GitopsError", "HelmError"]


class GitopsError(LatteError):
    """A gitops folder, chart or tool latte cannot use."""


class HelmError(GitopsError):
    """helm could not be installed or run."""


class CheckFailedError(GitopsError):
    """``latte gitops check`` found violations (the report lists them)."""
