"""``latte build`` registers what it built: a real task run in a real git repo in tmp_path."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from latte.cli import main
from latte.config import load_settings
from latte.registry import open_registry

pytestmark = pytest.mark.integration

# Stands in for a model build: an exported tree plus metrics.json with its digest.
EXPORT = textwrap.dedent(
    """\
    import json, pathlib, sys
    from latte.registry import tree_digest
    payload = pathlib.Path("models/weights.txt").read_text()
    tree = pathlib.Path("build/model-repository/toy")
    (tree / "1").mkdir(parents=True, exist_ok=True)
    (tree / "1" / "model.onnx").write_text(payload)
    (tree / "config.pbtxt").write_text('name: "toy"\\n')
    report = pathlib.Path("build/models/toy")
    report.mkdir(parents=True, exist_ok=True)
    record = {"artifact_digest": tree_digest(tree), "metrics": {"accuracy": 0.75}}
    (report / "metrics.json").write_text(json.dumps(record))
    """
)

BUILD = textwrap.dedent(
    """\
    [[target]]
    name = "toy"
    srcs = ["export.py", "weights.txt"]
    outs = ["build/model-repository/toy", "build/models/toy"]
    command = ["{python}", "models/export.py"]
    """
)


def _git(root, *args):
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


def test_build_registers_each_model_once_per_digest(tmp_path, capsys, monkeypatch):
    for name in ("LATTE_REGISTRY_URL", "LATTE_ARTIFACT_STORE_URL", "LATTE_BUILD_DIR"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "latte.toml").write_text("")
    (root / "models" / "BUILD.toml").write_text(BUILD)
    (root / "models" / "export.py").write_text(EXPORT)
    (root / "models" / "weights.txt").write_text("v1")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "toy")

    assert main(["-C", str(root), "build"]) == 0
    assert "registered toy version 1 (sha256:" in capsys.readouterr().out
    assert main(["-C", str(root), "build"]) == 0  # cached: same bytes, same version
    assert "registered toy version 1" in capsys.readouterr().out
    (root / "models" / "weights.txt").write_text("v2")
    assert main(["-C", str(root), "build"]) == 0
    assert "registered toy version 2" in capsys.readouterr().out

    with open_registry(load_settings(root=root, environ={})) as registry:
        first, second = registry.list("toy")
        assert first.metrics == {"accuracy": 0.75}
        assert first.lineage["git_commit"] == second.lineage["git_commit"]
        assert len(first.lineage["git_commit"]) == 40
        assert first.lineage["build_key"] != second.lineage["build_key"]
