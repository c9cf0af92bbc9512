"""Errors of promotion, rollback and status; all are :class:`latte.errors.LatteError`."""

from __future__ import annotations

from latte.errors import GitError, LatteError

__all__ = ["ForgeError", "GitError", "PolicyError", "PromoteError"]


class PromoteError(LatteError):
    """A promotion, rollback or status request that cannot go ahead as asked."""


class PolicyError(PromoteError):
    """The promotion policy refuses the move; the message lists every reason."""

    def __init__(self, target: str, reasons: list[str]) -> None:
        self.target = target
        self.reasons = list(reasons)
        super().__init__(f"promotion to {target} refused: {'; '.join(reasons)}")


class ForgeError(PromoteError):
    """The forge (GitHub) API refused or could not be reached."""
