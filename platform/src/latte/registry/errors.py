"""The registry's errors: each names what failed, the value, and what to do next."""

from __future__ import annotations

from latte.errors import LatteError

__all__ = [
    "BlockedError",
    "IntegrityError",
    "InvalidInputError",
    "NotFoundError",
    "RegistryError",
    "StoreError",
]


class RegistryError(LatteError):
    """Root of every error the registry raises on purpose."""


class NotFoundError(RegistryError):
    """An unknown model, version, alias or digest."""


class BlockedError(RegistryError):
    """The version is blocked: it cannot be aliased, promoted or exported."""


class InvalidInputError(RegistryError):
    """A malformed name, digest, alias, selector or artifact folder."""

    exit_code = 2


class StoreError(RegistryError):
    """The metadata database or the artifact store is unreachable or refuses access."""


class IntegrityError(RegistryError):
    """Stored or supplied content does not match its digest."""
