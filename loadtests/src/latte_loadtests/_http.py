"""One small GET for metadata, health and metrics: http(s) only, never file: or others."""

from __future__ import annotations

import urllib.parse
import urllib.request

from latte_loadtests.errors import BenchUsageError

__all__ = ["check_http_url", "http_get"]


def check_http_url(url: str, what: str = "--url") -> str:
    """``url`` without a trailing slash, or a usage error naming it."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BenchUsageError(
            f"{what} {url!r} is not an http(s) URL; pass e.g. http://127.0.0.1:8000"
        )
    return url.rstrip("/")


def http_get(url: str, timeout: float) -> tuple[int, bytes]:
    """Status and body; raises urllib's errors (HTTPError for 4xx/5xx, URLError, OSError)."""
    check_http_url(url, "URL")
    # the scheme is checked just above, so urlopen cannot be led to file: or custom schemes
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310  # nosec B310
        return int(answer.status), bytes(answer.read())
