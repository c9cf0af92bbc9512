"""Tenants from API keys: a capped key-id -> tenant map, so label cardinality stays bounded.

A key id is the first 16 hex digits of the key's sha256 digest, i.e. of the digest already
configured in ``API_KEY_HASHES``: operators can name tenants without ever seeing a key.
A request whose key is not in the map is tenant ``other``; one without a key ``anonymous``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from latte_serving.errors import ConfigFileError
from latte_serving.security import _presented_key

__all__ = ["ANONYMOUS", "MAX_TENANTS", "OTHER", "TenantMap", "key_id"]

OTHER = "other"
ANONYMOUS = "anonymous"
MAX_TENANTS = 100
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_TENANT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def key_id(key: str) -> str:
    """The id a tenant map names ``key`` by."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class TenantMap:
    """Resolves the tenant of a request from its ``Authorization``/``X-API-Key`` header."""

    def __init__(self, tenants: Mapping[str, str]) -> None:
        if len(tenants) > MAX_TENANTS:
            raise ConfigFileError(
                f"{len(tenants)} tenants configured; at most {MAX_TENANTS} keep the metrics' "
                "label cardinality bounded: map the rest to a shared tenant name"
            )
        for kid, tenant in tenants.items():
            if not _KEY_ID.fullmatch(str(kid)) or not _TENANT.fullmatch(str(tenant)):
                raise ConfigFileError(
                    f"tenant entry {kid!r}: {tenant!r} is invalid; keys are 16 lower-case hex "
                    "digits (sha256 of the API key, first 16), tenants match [a-z0-9_-]{1,32}"
                )
        self._tenants = {str(k): str(v) for k, v in tenants.items()}

    @property
    def names(self) -> frozenset[str]:
        """Every tenant label value this map can produce."""
        return frozenset({*self._tenants.values(), OTHER, ANONYMOUS})

    def tenant(self, headers: Mapping[str, str]) -> str:
        key = _presented_key(headers)
        if key is None:
            return ANONYMOUS
        return self._tenants.get(key_id(key), OTHER) if self._tenants else OTHER
