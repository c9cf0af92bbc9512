"""The S3/MinIO artifact store, through the shared ``minio`` client from :mod:`latte.s3`."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from minio.error import S3Error
from urllib3.exceptions import HTTPError

from latte.registry.errors import IntegrityError, StoreError
from latte.s3 import S3Location, make_client

if TYPE_CHECKING:
    from minio import Minio

    from latte.config import Settings

__all__ = ["S3Store", "check_reachable"]

_CONNECT_SECONDS = 5.0
_MISSING = {"NoSuchKey", "NoSuchObject"}


def check_reachable(endpoint: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at ``host:port``."""
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        host, port = endpoint, "443"
    try:
        socket.create_connection((host, int(port)), timeout=_CONNECT_SECONDS).close()
    except OSError as exc:
        raise StoreError(
            f"cannot reach the S3 endpoint {endpoint!r} ({exc.strerror or exc}); check "
            "s3_endpoint / LATTE_S3_ENDPOINT and that the server is running"
        ) from exc


class S3Store:
    """Objects below ``location`` in one bucket; the bucket is created if it is missing."""

    def __init__(self, client: Minio, location: S3Location, endpoint: str) -> None:
        self.client = client
        self.location = location
        self.endpoint = endpoint

    @classmethod
    def open(cls, location: S3Location, settings: Settings) -> S3Store:
        client = make_client(settings)
        check_reachable(settings.s3_endpoint)
        store = cls(client, location, settings.s3_endpoint)
        with store._translate("open bucket"):
            if not client.bucket_exists(location.bucket):
                client.make_bucket(location.bucket)
        return store

    def describe(self) -> str:
        return f"{self.location} at {self.endpoint}"

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        try:
            yield
        except S3Error as exc:
            if exc.code in _MISSING:
                raise IntegrityError(
                    f"artifact missing in {self.describe()} ({what}); restore it from a backup"
                ) from exc
            raise StoreError(
                f"S3 store {self.describe()} refused to {what}: {exc.code} ({exc.message}); "
                "check the bucket and the credentials (LATTE_S3_ACCESS_KEY/LATTE_S3_SECRET_KEY)"
            ) from exc
        except (HTTPError, OSError) as exc:
            raise StoreError(
                f"S3 store {self.describe()} failed to {what}: {type(exc).__name__}; check "
                "s3_endpoint / LATTE_S3_ENDPOINT, s3_secure and that the server is running"
            ) from exc

    def exists(self, key: str) -> bool:
        try:
            with self._translate(f"stat {key}"):
                self.client.stat_object(self.location.bucket, self.location.key(key))
        except IntegrityError:
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
            objects = self.client.list_objects(self.location.bucket, base + "/", recursive=True)
            return sorted(str(o.object_name)[strip:] for o in objects)

    def delete(self, key: str) -> None:
        with self._translate(f"delete {key}"):
            self.client.remove_object(self.location.bucket, self.location.key(key))
