"""The registry on an S3 API server (moto on 127.0.0.1) through the same minio code path."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import settings_for
from minio import Minio
from servers import free_port

from latte.registry import StoreError, backup_registry, open_registry, restore_registry, tree_digest
from latte.registry.blobs import blob_key
from latte.registry.export import export_repository

pytestmark = pytest.mark.integration


def _s3_settings(root: Path, endpoint: str, store: str, key: str = "testing"):
    return settings_for(
        root,
        f"sqlite:///{root}/registry.db",
        store,
        s3_endpoint=endpoint,
        s3_secure="false",
        s3_access_key=key,
        s3_secret_key=key,
    )


@pytest.fixture
def bucket() -> str:
    return f"latte-{uuid.uuid4().hex[:12]}"


def _keys(endpoint: str, bucket: str, prefix: str) -> list[str]:
    client = Minio(endpoint, "testing", "testing", secure=False, region="us-east-1")
    return sorted(o.object_name for o in client.list_objects(bucket, prefix, recursive=True))


def test_register_fetch_and_export_through_s3(s3_endpoint, bucket, make_tree, tmp_path):
    settings = _s3_settings(tmp_path / "p", s3_endpoint, f"s3://{bucket}/artifacts")
    with open_registry(settings) as registry:
        first = registry.register("digits", make_tree("a"))
        registry.register("digits", make_tree("b"))
        stored = _keys(s3_endpoint, bucket, "artifacts/")
        assert f"artifacts/trees/sha256/{first.digest[7:]}.json" in stored
        assert f"artifacts/{blob_key(hashlib.sha256(b'a').hexdigest())}" in stored
        fetched = registry.fetch("digits", 1, tmp_path / "fetched")
        assert tree_digest(fetched) == first.digest

        result = export_repository(
            registry, f"s3://{bucket}/repo", ["digits@1", "digits@2"], settings=settings
        )
        assert result.triton_url == f"s3://{s3_endpoint}/{bucket}/repo"
        assert _keys(s3_endpoint, bucket, "repo/") == [
            "repo/digits/1/model.onnx",
            "repo/digits/2/model.onnx",
            "repo/digits/config.pbtxt",
        ]
        export_repository(registry, f"s3://{bucket}/repo", ["digits@2"], settings=settings)
        assert _keys(s3_endpoint, bucket, "repo/") == [
            "repo/digits/2/model.onnx",
            "repo/digits/config.pbtxt",
        ]
        # a version an environment still references is never deleted (rollback needs it)
        export_repository(
            registry, f"s3://{bucket}/repo", ["digits@1", "digits@2"], settings=settings
        )
        result = export_repository(
            registry, f"s3://{bucket}/repo", ["digits@2"], settings=settings, keep={"digits": {1}}
        )
        assert result.kept == (("digits", 1),)
        assert "repo/digits/1/model.onnx" in _keys(s3_endpoint, bucket, "repo/")


def test_backup_from_s3_restores_into_an_empty_local_store(
    s3_endpoint, bucket, make_tree, tmp_path
):
    settings = _s3_settings(tmp_path / "p", s3_endpoint, f"s3://{bucket}/artifacts")
    with open_registry(settings) as registry:
        registry.register("digits", make_tree("a"))
        backup_registry(registry, tmp_path / "backup")
    other = settings_for(tmp_path / "q", f"sqlite:///{tmp_path}/q.db")
    with open_registry(other) as restored:
        assert restore_registry(restored, tmp_path / "backup").versions == 1
        assert tree_digest(restored.fetch("digits", 1, tmp_path / "f")) == tree_digest(
            make_tree("a")
        )


def test_an_unreachable_endpoint_fails_fast_with_one_line(tmp_path):
    settings = _s3_settings(tmp_path / "p", f"127.0.0.1:{free_port()}", "s3://latte-x/a")
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"cannot reach the S3 endpoint '127\.0\.0\.1:\d+'"):
        open_registry(settings)
    assert time.monotonic() - started < 10


@pytest.fixture(scope="module")
def authenticating_s3() -> Iterator[str]:
    """A moto server that checks credentials (the shared one accepts any)."""
    port = free_port()
    environ = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(
        command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait()


def test_wrong_credentials_are_named_without_leaking_the_secret(authenticating_s3, tmp_path):
    settings = _s3_settings(tmp_path / "p", authenticating_s3, "s3://latte-x/a", key="s3cr3t-key")
    with pytest.raises(StoreError, match=r"AccessDenied.*credentials") as caught:
        open_registry(settings)
    assert "s3cr3t-key" not in str(caught.value)
