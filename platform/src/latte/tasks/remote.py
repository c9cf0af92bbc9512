"""The shared remote cache on S3/MinIO, through :mod:`latte.s3` and the ``minio`` client.

Layout below ``s3://bucket/prefix``: ``ac/<key>.json`` entries, ``cas/<sha256>`` blobs.
Read failures are warnings and misses (a broken remote must never fail or poison a build);
after the first connection failure the remote is switched off for the rest of the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latte.s3 import S3Location, make_client
from latte.tasks.store import copy_verified

if TYPE_CHECKING:
    from minio import Minio

    from latte.config import Settings

__all__ = ["S3Store", "open_remote"]

Warn = Callable[[str], None]


def open_remote(settings: Settings, warn: Warn) -> S3Store | None:
    """The remote cache configured by ``remote_cache_url``, or None when it is unset."""
    if not settings.remote_cache_url:
        return None
    location = S3Location.parse(settings.remote_cache_url)
    return S3Store(make_client(settings), location, warn)


class S3Store:
    """A :class:`~latte.tasks.store.CacheBackend` on an S3 bucket."""

    name = "remote"

    def __init__(self, client: Minio, location: S3Location, warn: Warn) -> None:
        self.client = client
        self.location = location
        self.warn = warn
        self.available = True
        self._bucket_checked = False

    def _failed(self, action: str, exc: Exception) -> None:
        from minio.error import S3Error

        if not isinstance(exc, S3Error):
            self.available = False  # unreachable: stop trying (and stop waiting) this run
        self.warn(f"remote cache {self.location}: {action} failed ({exc}); continuing without it")

    def _get(self, key: str) -> Any:
        from minio.error import S3Error

        try:
            return self.client.get_object(self.location.bucket, key)
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchBucket"}:
                return None
            raise

    def get_entry(self, key: str) -> dict[str, Any] | None:
        if not self.available:
            return None
        try:
            response = self._get(self.location.key("ac", f"{key}.json"))
            if response is None:
                return None
            try:
                data = json.loads(response.read())
            finally:
                response.close()
                response.release_conn()
        except ValueError:
            self.warn(f"remote cache entry {key[:12]} is not valid JSON; treating it as a miss")
            return None
        except Exception as exc:  # any transport error is a miss, not a crash
            self._failed("reading an entry", exc)
            return None
        return data if isinstance(data, dict) and data.get("key") == key else None

    def has_blob(self, digest: str) -> bool:
        from minio.error import S3Error

        try:
            self.client.stat_object(self.location.bucket, self.location.key("cas", digest))
        except S3Error:
            return False
        return True

    def fetch_blob(self, digest: str, dest: Path) -> bool:
        if not self.available:
            return False
        try:
            response = self._get(self.location.key("cas", digest))
            if response is None:
                self.warn(f"remote blob {digest[:12]} is missing; rebuilding")
                return False
            try:
                ok = copy_verified(response.read, dest, digest)
            finally:
                response.close()
                response.release_conn()
        except Exception as exc:
            self._failed(f"fetching blob {digest[:12]}", exc)
            return False
        if not ok:
            self.warn(f"remote blob {digest[:12]} does not match its digest (corrupt); rebuilding")
        return ok

    def _ensure_bucket(self) -> None:
        if not self._bucket_checked and not self.client.bucket_exists(self.location.bucket):
            self.client.make_bucket(self.location.bucket)
        self._bucket_checked = True

    def put_blob(self, digest: str, source: Path) -> None:
        if not self.available:
            return
        try:
            self._ensure_bucket()
            if not self.has_blob(digest):
                self.client.fput_object(
                    self.location.bucket, self.location.key("cas", digest), str(source)
                )
        except Exception as exc:
            self._failed(f"uploading blob {digest[:12]}", exc)

    def put_entry(self, key: str, entry: dict[str, Any]) -> None:
        import io

        if not self.available:
            return
        data = json.dumps(entry, sort_keys=True).encode("utf-8")
        try:
            self._ensure_bucket()
            self.client.put_object(
                self.location.bucket,
                self.location.key("ac", f"{key}.json"),
                io.BytesIO(data),
                len(data),
                content_type="application/json",
            )
        except Exception as exc:
            self._failed("uploading an entry", exc)
