"""Errors of ``latte train``."""

from __future__ import annotations

from latte.errors import LatteError

__all__ = ["TrainError"]


class TrainError(LatteError):
    """A training run could not start or did not finish; the message says why."""

    exit_code = 1
