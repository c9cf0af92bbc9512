"""register_build reads build/models/<name>/metrics.json beside build/model-repository/<name>."""

from __future__ import annotations

import json

import pytest

from latte.config import load_settings
from latte.registry import (
    IntegrityError,
    InvalidInputError,
    open_registry,
    register_build,
    tree_digest,
)


def _build(root, name, payload, **extra):
    tree = root / "build" / "model-repository" / name
    (tree / "1").mkdir(parents=True)
    (tree / "1" / "model.onnx").write_text(payload)
    (tree / "config.pbtxt").write_text(f'name: "{name}"\n')
    record = {
        "artifact_digest": tree_digest(tree),
        "metrics": {"accuracy": 0.9, "per_class": {"0": {"f1": 0.8}}, "confusion": [[1]]},
        "git_commit": "c" * 40,
        "data_digest": "sha256:" + "d" * 64,
        "framework": "pytorch",
        "framework_versions": {"torch": "2.13.0"},
        "gates_passed": True,
        **extra,
    }
    (root / "build" / "models" / name).mkdir(parents=True)
    (root / "build" / "models" / name / "metrics.json").write_text(json.dumps(record))


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "latte.toml").write_text("")
    return load_settings(root=tmp_path, environ={})


def test_every_built_model_is_registered_once(settings, tmp_path):
    _build(tmp_path, "digits", "a")
    _build(tmp_path, "tumor", "b")
    first = register_build(settings)
    assert [(mv.name, mv.version) for mv in first] == [("digits", 1), ("tumor", 1)]
    assert first[0].metrics == {"accuracy": 0.9, "per_class.0.f1": 0.8}
    assert first[0].lineage == {
        "git_commit": "c" * 40,
        "data_digest": "sha256:" + "d" * 64,
        "framework": "pytorch",
        "framework.torch": "2.13.0",
    }
    assert register_build(settings) == first
    with open_registry(settings) as registry:
        assert register_build(settings, registry=registry) == first
        assert registry.get("digits", 1).created_by == "latte build"


def test_nothing_built_registers_nothing(settings):
    assert register_build(settings) == []


def test_a_changed_tree_or_a_broken_record_is_refused(settings, tmp_path):
    _build(tmp_path, "digits", "a", artifact_digest="sha256:" + "0" * 64)
    with pytest.raises(IntegrityError, match="expected sha256:0000"):
        register_build(settings)
    (tmp_path / "build" / "models" / "digits" / "metrics.json").write_text("[1]")
    with pytest.raises(InvalidInputError, match="must hold a JSON object"):
        register_build(settings)
    (tmp_path / "build" / "models" / "digits" / "metrics.json").write_text("{")
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        register_build(settings)
    (tmp_path / "build" / "models" / "digits" / "metrics.json").unlink()
    (tmp_path / "build" / "models" / "lost").mkdir()
    (tmp_path / "build" / "models" / "lost" / "metrics.json").write_text("{}")
    with pytest.raises(InvalidInputError, match="no exported model"):
        register_build(settings)
