"""S3 / MinIO access shared by the remote task cache and the registry's artifact store.

Locations are written ``s3://bucket/prefix``; the endpoint, region, TLS and credentials come
from :class:`~latte.config.Settings` (credentials from the environment only).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from latte.errors import ConfigError

if TYPE_CHECKING:
    from minio import Minio

    from latte.config import Settings

__all__ = ["S3Location", "is_s3_url", "make_client"]

# S3 bucket naming rules (lowercase, 3-63 chars); Triton's S3 loader rejects anything else.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


def is_s3_url(url: str) -> bool:
    return url.startswith("s3://")


@dataclasses.dataclass(frozen=True)
class S3Location:
    """A bucket and a key prefix (no leading or trailing slash)."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> S3Location:
        if not is_s3_url(url):
            raise ConfigError(f"{url!r} is not an S3 location; write it as s3://bucket/prefix")
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        prefix = prefix.strip("/")
        if not _BUCKET.match(bucket):
            raise ConfigError(
                f"bucket {bucket!r} in {url!r} is not a valid S3 bucket name: use 3-63 "
                "lowercase letters, digits, dots or hyphens"
            )
        for segment in prefix.split("/") if prefix else ():
            if not _SEGMENT.match(segment):
                raise ConfigError(
                    f"path segment {segment!r} in {url!r} is not safe for S3 and Triton: "
                    "use letters, digits, '.', '_' or '-'"
                )
        return cls(bucket=bucket, prefix=prefix)

    def key(self, *parts: str) -> str:
        """The object key for ``parts`` below this prefix."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def make_client(settings: Settings) -> Minio:
    """A ``minio`` client for the configured endpoint; connects lazily (no I/O here)."""
    from minio import Minio  # deferred: only S3 users pay for the import

    if not settings.s3_endpoint:
        raise ConfigError(
            "an s3:// location is configured but no endpoint: set s3_endpoint in latte.toml "
            "or LATTE_S3_ENDPOINT (host:port)"
        )
    return Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key or None,
        secret_key=settings.s3_secret_key or None,
        secure=settings.s3_secure,
        region=settings.s3_region,
    )
