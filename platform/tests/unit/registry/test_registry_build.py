"""register_build reads build/models/<name>/metrics.json beside build/model-repository/<name>."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess

import pytest

from latte.config import load_settings
from latte.registry import (
    IntegrityError,
    InvalidInputError,
    NotFoundError,
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


def _saved_model(root, name="tumor"):
    folder = root / "build" / "tf-serving" / name
    (folder / "1" / "variables").mkdir(parents=True)
    (folder / "1" / "saved_model.pb").write_bytes(b"graph")
    (folder / "1" / "variables" / "variables.index").write_bytes(b"index")
    return folder


def _exports(folder, digest):
    return [{"kind": "onnx", "path": "model-repository/tumor"},
            {"kind": "saved_model", "path": "tf-serving/tumor", "digest": digest}]  # fmt: skip


def test_a_saved_model_export_is_registered_as_the_versions_own_tree(settings, tmp_path):
    folder = _saved_model(tmp_path)
    _build(tmp_path, "tumor", "b", exports=_exports(folder, tree_digest(folder)))
    (version,) = register_build(settings)
    assert version.artifacts == {"saved_model": tree_digest(folder)}
    assert version.lineage["artifact.saved_model"] == tree_digest(folder)
    with open_registry(settings) as registry:
        fetched = registry.fetch("tumor", 1, tmp_path / "out", artifact="saved_model")
        assert tree_digest(fetched) == tree_digest(folder)
        assert (fetched / "1" / "saved_model.pb").read_bytes() == b"graph"
        with pytest.raises(NotFoundError, match=r"has no onnx_fp16 artifact .it has saved_model"):
            registry.fetch("tumor", 1, tmp_path / "other", artifact="onnx_fp16")


def test_a_changed_or_missing_saved_model_is_refused(settings, tmp_path):
    folder = _saved_model(tmp_path)
    _build(tmp_path, "tumor", "b", exports=_exports(folder, "sha256:" + "0" * 64))
    with pytest.raises(IntegrityError, match=r"tf-serving/tumor has digest .*expected sha256:0000"):
        register_build(settings)
    with open_registry(settings) as registry:
        assert registry.models() == []  # nothing half-registered

    shutil.rmtree(folder)
    with pytest.raises(
        InvalidInputError, match=r"lists a saved_model export at .* which is missing"
    ):
        register_build(settings)


def test_artifact_lineage_keys_are_the_registrys_own(settings, tmp_path):
    _build(tmp_path, "digits", "a")
    with open_registry(settings) as registry, pytest.raises(InvalidInputError, match=r"artifact\."):
        registry.register(
            "digits", tmp_path / "build" / "model-repository" / "digits",
            lineage={"artifact.saved_model": "sha256:" + "0" * 64},
        )  # fmt: skip


def test_backup_and_restore_carry_the_saved_model_tree(settings, tmp_path):
    from latte.registry import backup_registry, restore_registry

    folder = _saved_model(tmp_path)
    _build(tmp_path, "tumor", "b", exports=_exports(folder, tree_digest(folder)))
    register_build(settings)
    with open_registry(settings) as registry:
        backup_registry(registry, tmp_path / "backup")
    fresh = dataclasses.replace(
        settings,
        registry_url=f"sqlite:///{tmp_path / 'new.db'}",
        artifact_store_url=str(tmp_path / "new-artifacts"),
    )
    with open_registry(fresh) as registry:
        restore_registry(registry, tmp_path / "backup")
        fetched = registry.fetch("tumor", 1, tmp_path / "out", artifact="saved_model")
    assert tree_digest(fetched) == tree_digest(folder)
