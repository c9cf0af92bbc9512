"""The shared remote cache on S3/MinIO: the task-cache layout on a :class:`~latte.s3.BucketStore`.

Layout below ``s3://bucket/prefix``: ``ac/<key>.json`` entries, ``cas/<sha256>`` blobs.
Read failures are warnings and misses (a broken remote must never fail or poison a build);
after the first connection failure the remote is switched off for the rest of the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from latte.cas import fetch_checked, put_if_absent
from latte.errors import LatteError
from latte.objects import ObjectMissingError, StoreErrors, StoreFailedError
from latte.s3 import BucketStore, S3Location, make_client

if TYPE_CHECKING:
    from latte.config import Settings
    from latte.tasks.store import CacheEntry

__all__ = ["RemoteCache", "open_remote"]

Warn = Callable[[str], None]


class _Unreachable(StoreFailedError):
    """No connection: the remote is switched off for the rest of the run."""


_ERRORS = StoreErrors(
    missing=ObjectMissingError, refused=StoreFailedError, unreachable=_Unreachable
)


def open_remote(settings: Settings, warn: Warn) -> RemoteCache | None:
    """The remote cache configured by ``remote_cache_url``, or None when it is unset."""
    if not settings.remote_cache_url:
        return None
    location = S3Location.parse(settings.remote_cache_url)
    bucket = BucketStore(make_client(settings), location, settings.s3_endpoint, _ERRORS)
    return RemoteCache(bucket, warn)


class RemoteCache:
    """A :class:`~latte.tasks.store.CacheBackend` on an S3 bucket."""

    name = "remote"

    def __init__(self, bucket: BucketStore, warn: Warn) -> None:
        self.bucket = bucket
        self.location = bucket.location
        self.warn = warn
        self.available = True
        self._bucket_checked = False

    def _failed(self, action: str, exc: Exception) -> None:
        if isinstance(exc, _Unreachable) or not isinstance(exc, LatteError):
            self.available = False  # unreachable: stop trying (and stop waiting) this run
        reason = exc.__cause__ or exc
        self.warn(
            f"remote cache {self.location}: {action} failed ({reason}); continuing without it"
        )

    def get_entry(self, key: str) -> CacheEntry | None:
        if not self.available:
            return None
        try:
            data = json.loads(self.bucket.get_bytes(f"ac/{key}.json"))
        except ObjectMissingError:
            return None
        except ValueError:
            self.warn(f"remote cache entry {key[:12]} is not valid JSON; treating it as a miss")
            return None
        except Exception as exc:  # any transport error is a miss, not a crash
            self._failed("reading an entry", exc)
            return None
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        return cast("CacheEntry", data)

    def has_blob(self, digest: str) -> bool:
        try:
            return self.bucket.exists(f"cas/{digest}")
        except Exception as exc:
            self._failed(f"checking blob {digest[:12]}", exc)
            return False

    def fetch_blob(self, digest: str, dest: Path) -> bool:
        if not self.available:
            return False
        try:
            ok = fetch_checked(self.bucket, f"cas/{digest}", digest, dest) == digest
        except ObjectMissingError:
            self.warn(f"remote blob {digest[:12]} is missing; rebuilding")
            return False
        except Exception as exc:
            self._failed(f"fetching blob {digest[:12]}", exc)
            return False
        if not ok:
            self.warn(f"remote blob {digest[:12]} does not match its digest (corrupt); rebuilding")
        return ok

    def _ensure_bucket(self) -> None:
        if not self._bucket_checked:
            self.bucket.ensure_bucket()
        self._bucket_checked = True

    def put_blob(self, digest: str, source: Path) -> None:
        if not self.available:
            return
        try:
            self._ensure_bucket()
            put_if_absent(self.bucket, f"cas/{digest}", source)
        except Exception as exc:
            self._failed(f"uploading blob {digest[:12]}", exc)

    def put_entry(self, key: str, entry: CacheEntry) -> None:
        if not self.available:
            return
        data = json.dumps(entry, sort_keys=True).encode("utf-8")
        try:
            self._ensure_bucket()
            self.bucket.put_bytes(f"ac/{key}.json", data)
        except Exception as exc:
            self._failed("uploading an entry", exc)
