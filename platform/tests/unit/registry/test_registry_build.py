"""register_build reads build/models/<name>/metrics.json beside build/model-repository/<name>."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import pytest

from latte.config import load_settings
from latte.registry import (
    IntegrityError,
    InvalidInputError,
    open_registry,
    register_build,
    tree_digest,
)
from latte.registry.build import git_commit, model_build_keys, register_run


def _build(root, name, payload, **extra):
    tree = root / "build" / "model-repository" / name
    (tree / "1").mkdir(parents=True)
    (tree / "1" / "model.onnx").write_text(payload)
    (tree / "config.pbtxt").write_text(f'name: "{name}"\n')
    record = {
        "artifact_digest": tree_digest(tree),
        # the shape latte_models writes (models/src/latte_models/_steps.py)
        "schema": 1,
        "metrics": {"accuracy": 0.9, "per_class": {"0": {"f1": 0.8}}, "confusion": [[1]]},
        "latency": {"p50_ms": 0.2},
        "data_digest": "sha256:" + "d" * 64,
        "data": {"split_digest": "sha256:" + "d" * 64, "seed": 7, "sizes": [1, 2]},
        "framework": "pytorch",
        "versions": {"torch": "2.13.0"},
        "gates_passed": True,
        "signature": {"input": "input__0", "output": "output__0"},
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
    assert first[0].metrics == {"accuracy": 0.9, "per_class.0.f1": 0.8, "latency.p50_ms": 0.2}
    assert first[0].lineage == {
        "schema": "1",
        "data_digest": "sha256:" + "d" * 64,
        "data.split_digest": "sha256:" + "d" * 64,
        "data.seed": "7",
        "framework": "pytorch",
        "framework.torch": "2.13.0",
        "gates_passed": "true",
        "signature.input": "input__0",
        "signature.output": "output__0",
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


@dataclasses.dataclass(frozen=True)
class _Result:
    key: str
    outs: tuple[str, ...]


def test_a_build_run_adds_the_commit_and_the_action_key(settings, tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    commit = git_commit(tmp_path)
    assert commit is not None
    assert len(commit) == 40
    _build(tmp_path, "digits", "a")
    results = [
        _Result("k-digits", ("build/model-repository/digits", "build/models/digits")),
        _Result("k-data", ("build/data/x.npz",)),
    ]
    assert model_build_keys(results) == {"digits": "k-digits"}
    (registered,) = register_run(settings, results)
    assert registered.lineage["git_commit"] == commit
    assert registered.lineage["build_key"] == "k-digits"


def test_outside_a_git_checkout_there_is_no_commit(tmp_path):
    assert git_commit(tmp_path / "nowhere") is None
