"""API keys: configured as sha256 digests, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

from latte_serving.errors import ConfigFileError

__all__ = ["OPEN_PATHS", "KeyChecker"]

# Health and metrics stay open so probes and Prometheus need no secret.
OPEN_PATHS = frozenset({"/v2/health/live", "/v2/health/ready", "/metrics"})


class KeyChecker:
    """Accepts ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` when keys are configured."""

    def __init__(self, digests: Iterable[str]) -> None:
        given = [d.strip() for d in digests if d.strip()]
        self._digests = tuple(_digest(d, n) for n, d in enumerate(given, start=1))

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def allows(self, headers: Mapping[str, str]) -> bool:
        if not self._digests:
            return True
        key = _presented_key(headers)
        if key is None:
            return False
        digest = hashlib.sha256(key.encode()).digest()
        # compare against every digest, so timing does not tell which (or whether) one matched
        matches = [hmac.compare_digest(digest, known) for known in self._digests]
        return any(matches)


def _digest(text: str, number: int) -> bytes:
    # never echo any part of the value: a key pasted in place of its hash is a secret
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ConfigFileError(
            f"API key hash number {number} ({len(text)} characters) is not a sha256 hex "
            "digest of 64 hex characters; store sha256(key).hexdigest(), e.g. from "
            "'python -m latte_serving hash-key KEY'"
        )
    return bytes.fromhex(text)


def _presented_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = headers.get("x-api-key", "").strip()
    return api_key or None
