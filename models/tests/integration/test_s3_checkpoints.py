"""Checkpoints in a real S3 API server (moto's, on 127.0.0.1) through the minio client."""

from __future__ import annotations

import socket

import pytest

from latte_models.config import config_path, load_config
from latte_models.distributed import open_checkpoints
from latte_models.distributed._common import run_meta
from latte_models.distributed.checkpoints import CheckpointError, load_latest, save, upload_build

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3():
    from minio import Minio
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    client = Minio(
        f"127.0.0.1:{port}", access_key="test", secret_key="test", secure=False,
        region="us-east-1",
    )  # fmt: skip
    client.make_bucket("ckpt")
    yield client
    server.stop()


def test_s3_checkpoints_round_trip_and_refuse_another_world(s3):
    config = load_config(config_path("digits"))
    store = open_checkpoints("s3://ckpt/runs/digits/w2", s3)
    save(store, run_meta(config, 2, step=20), b"twenty")
    save(store, run_meta(config, 2, step=40), b"forty")
    meta, payload = load_latest(store, run_meta(config, 2))
    assert (meta.step, payload) == (40, b"forty")
    assert store.describe("x") == "s3://ckpt/runs/digits/w2/x"
    with pytest.raises(CheckpointError, match="is for world_size 2, this run has 1"):
        load_latest(store, run_meta(config, 1))


def test_a_build_uploads_under_its_relative_paths(s3, tmp_path):
    (tmp_path / "models" / "digits").mkdir(parents=True)
    (tmp_path / "models" / "digits" / "metrics.json").write_text("{}")
    store = open_checkpoints("s3://ckpt/train-runs/digits", s3)
    assert upload_build(store, tmp_path, ["models/digits"]) == 1
    assert store.names() == ["models/digits/metrics.json"]
    assert store.read("models/digits/metrics.json") == b"{}"


def test_an_s3_url_without_a_client_says_what_is_missing():
    with pytest.raises(CheckpointError, match="LATTE_S3_ENDPOINT"):
        open_checkpoints("s3://ckpt/x")
