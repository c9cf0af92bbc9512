"""Content addressing on any :class:`~latte.objects.ObjectStore`: put once, read verified.

The task cache and the registry lay their blobs out differently (their own keys), but both
write a blob only when it is absent and check every blob they read against its sha256.
"""

from __future__ import annotations

from pathlib import Path

from latte.objects import ObjectStore
from latte_contracts.digest import file_sha256 as sha256_file  # re-exported

__all__ = ["fetch_checked", "put_if_absent", "sha256_file"]


def put_if_absent(store: ObjectStore, key: str, source: Path) -> bool:
    """Upload ``source`` as ``key`` unless the store has it; True when it was sent."""
    if store.exists(key):
        return False
    store.put_file(key, source)
    return True


def fetch_checked(store: ObjectStore, key: str, expected: str, dest: Path) -> str:
    """Copy ``key`` to ``dest`` and return its hex sha256; on a mismatch ``dest`` is removed.

    A missing key raises the store's ``errors.missing``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    store.get_file(key, dest)
    actual = sha256_file(dest)
    if actual != expected:
        dest.unlink(missing_ok=True)
    return actual
