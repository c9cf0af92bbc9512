"""S3 / MinIO access shared by the remote task cache and the registry's artifact store.

Locations are written ``s3://bucket/prefix``; the endpoint, region, TLS and credentials come
from :class:`~latte.config.Settings` (credentials from the environment only).
:class:`BucketStore` is the S3 :class:`~latte.objects.ObjectStore`.
"""

from __future__ import annotations

import dataclasses
import io
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from latte.errors import ConfigError
from latte.objects import StoreErrors

if TYPE_CHECKING:
    from minio import Minio

    from latte.config import Settings

__all__ = ["BucketStore", "S3Location", "check_reachable", "is_s3_url", "make_client"]

_CONNECT_SECONDS = 5.0
_MISSING = {"NoSuchKey", "NoSuchObject", "NoSuchBucket"}

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


def check_reachable(endpoint: str, errors: StoreErrors) -> None:
    """Fail in seconds, not minutes, when nothing listens at ``host:port``."""
    host, _, port = endpoint.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()):
        host, port = endpoint, "443"
    try:
        socket.create_connection((host, int(port)), timeout=_CONNECT_SECONDS).close()
    except OSError as exc:
        raise errors.unreachable(
            f"cannot reach the S3 endpoint {endpoint!r} ({exc.strerror or exc}); check "
            "s3_endpoint / LATTE_S3_ENDPOINT and that the server is running"
        ) from exc


class BucketStore:
    """Objects below ``location`` in one bucket (an :class:`~latte.objects.ObjectStore`)."""

    def __init__(
        self, client: Minio, location: S3Location, endpoint: str, errors: StoreErrors
    ) -> None:
        self.client = client
        self.location = location
        self.endpoint = endpoint
        self.errors = errors

    @classmethod
    def open(cls, location: S3Location, settings: Settings, errors: StoreErrors) -> BucketStore:
        """Connect now (failing fast when unreachable) and create the bucket if it is missing."""
        client = make_client(settings)
        check_reachable(settings.s3_endpoint, errors)
        store = cls(client, location, settings.s3_endpoint, errors)
        store.ensure_bucket()
        return store

    def ensure_bucket(self) -> None:
        with self._translate("open bucket"):
            if not self.client.bucket_exists(self.location.bucket):
                self.client.make_bucket(self.location.bucket)

    def describe(self) -> str:
        return f"{self.location} at {self.endpoint}"

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        from minio.error import S3Error
        from urllib3.exceptions import HTTPError

        try:
            yield
        except S3Error as exc:
            if exc.code in _MISSING:
                raise self.errors.missing(
                    f"artifact missing in {self.describe()} ({what}); restore it from a backup"
                ) from exc
            raise self.errors.refused(
                f"S3 store {self.describe()} refused to {what}: {exc.code} ({exc.message}); "
                "check the bucket and the credentials (LATTE_S3_ACCESS_KEY/LATTE_S3_SECRET_KEY)"
            ) from exc
        except (HTTPError, OSError) as exc:
            raise self.errors.unreachable(
                f"S3 store {self.describe()} failed to {what}: {type(exc).__name__}; check "
                "s3_endpoint / LATTE_S3_ENDPOINT, s3_secure and that the server is running"
            ) from exc

    def exists(self, key: str) -> bool:
        try:
            with self._translate(f"stat {key}"):
                self.client.stat_object(self.location.bucket, self.location.key(key))
        except self.errors.missing:
            return False
        return True

    def put_file(self, key: str, source: Path) -> None:
        with self._translate(f"upload {key}"):
            self.client.fput_object(self.location.bucket, self.location.key(key), str(source))

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._translate(f"upload {key}"):
            self.client.put_object(
                self.location.bucket, self.location.key(key), io.BytesIO(data), len(data)
            )

    def get_file(self, key: str, dest: Path) -> None:
        with self._translate(f"download {key}"):
            self.client.fget_object(self.location.bucket, self.location.key(key), str(dest))

    def get_bytes(self, key: str) -> bytes:
        with self._translate(f"download {key}"):
            response = self.client.get_object(self.location.bucket, self.location.key(key))
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

    def list_keys(self, prefix: str) -> list[str]:
        base = self.location.key(prefix)
        strip = len(self.location.prefix) + 1 if self.location.prefix else 0
        with self._translate(f"list {prefix}"):
            # an empty base is the whole bucket (a "/" prefix would match nothing)
            objects = self.client.list_objects(
                self.location.bucket, f"{base}/" if base else None, recursive=True
            )
            return sorted(str(o.object_name)[strip:] for o in objects)

    def delete(self, key: str) -> None:
        with self._translate(f"delete {key}"):
            self.client.remove_object(self.location.bucket, self.location.key(key))
