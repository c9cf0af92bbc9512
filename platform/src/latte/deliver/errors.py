"""The delivery step's errors: one line naming model, version, digests and the fix."""

from __future__ import annotations

from latte.errors import LatteError

__all__ = ["DeliveryError"]


class DeliveryError(LatteError):
    """A release cannot be delivered as pinned; nothing was made visible in the folder."""
