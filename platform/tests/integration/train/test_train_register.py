"""`latte train --register-from`: a finished run's uploaded build (folder or S3) is registered
like a local build, with its world size and backend in the lineage."""

import json

import pytest
from minio import Minio

from latte.cli import main
from latte.config import load_settings
from latte.registry import open_registry

pytestmark = pytest.mark.integration


def _build(root):
    """A chief's published build: metrics.json (with the training table) + its model tree."""
    (root / "model-repository/digits/1").mkdir(parents=True)
    (root / "model-repository/digits/1/model.onnx").write_bytes(b"onnx bytes")
    (root / "model-repository/digits/config.pbtxt").write_text('name: "digits"\n')
    (root / "models/digits").mkdir(parents=True)
    report = {
        "schema": 1, "name": "digits", "framework": "pytorch", "metrics": {"accuracy": 0.97},
        "training": {"world_size": 2, "backend": "gloo", "engine": "torchrun"},
    }  # fmt: skip
    (root / "models/digits/metrics.json").write_text(json.dumps(report))
    return root


def _lineage(repo, environ):
    settings = load_settings(root=repo, environ=environ)
    with open_registry(settings, actor="test") as registry:
        return registry.latest("digits").lineage


def test_a_folder_build_is_registered_with_its_world(tmp_path, capsys, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "latte.toml").write_text("")
    build = _build(tmp_path / "upload")
    assert main(["-C", str(repo), "train", "digits", "--register-from", str(build)]) == 0
    assert "registered digits version 1" in capsys.readouterr().out
    lineage = _lineage(repo, {})
    assert lineage["training.world_size"] == "2"
    assert lineage["training.backend"] == "gloo"


def test_an_s3_upload_is_downloaded_and_registered(tmp_path, capsys, monkeypatch, s3_settings_env):
    for key, value in s3_settings_env.items():
        monkeypatch.setenv(key, value)
    client = Minio(s3_settings_env["LATTE_S3_ENDPOINT"], "testing", "testing", secure=False)
    client.make_bucket("runs")
    build = _build(tmp_path / "upload")
    for path in sorted(p for p in build.rglob("*") if p.is_file()):
        client.fput_object("runs", f"train-runs/digits/{path.relative_to(build)}", str(path))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "latte.toml").write_text("")
    url = "s3://runs/train-runs/digits"
    assert main(["-C", str(repo), "train", "digits", "--register-from", url]) == 0
    assert _lineage(repo, s3_settings_env)["training.world_size"] == "2"
    assert main(["-C", str(repo), "train", "digits", "--register-from", "s3://runs/none"]) == 1
    assert "nothing at s3://runs/none" in capsys.readouterr().err
