"""Both models built for real (session fixture), checked the way the registry and Triton use
them; determinism by a second build in a fresh process through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from latte_models import GateError, build_model, config_path, load_config, tree_digest
from latte_models._common.data import split_dataset
from latte_models._common.onnx_io import run_onnx, signature
from latte_models.models import get_family

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["digits", "tumor"])
def test_build_writes_the_repository_and_the_report(build_dir, name):
    repo = build_dir / "model-repository" / name
    report_dir = build_dir / "models" / name
    assert (repo / "1" / "model.onnx").is_file()
    assert (repo / "config.pbtxt").is_file()
    report = json.loads((report_dir / "metrics.json").read_text())
    assert report["artifact_digest"] == tree_digest(repo)
    assert report["gates_passed"] is True
    assert all(gate["value"] >= gate["min"] for gate in report["gates"])
    assert report["data"]["split_digest"].startswith("sha256:")
    assert report["versions"]["onnxruntime"] != "not installed"
    assert {e["kind"] for e in report["exports"]} >= {"onnx"}
    assert all(e["max_abs_diff"] <= report["verify_atol"] for e in report["exports"])
    assert report["latency"]["p50_ms"] > 0
    assert report["latency"]["framework_p50_ms"] > 0
    assert (report_dir / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG")
    card = (report_dir / "model_card.md").read_text()
    assert report["artifact_digest"] in card
    assert "confusion_matrix.png" in card
    assert not list(build_dir.glob(".staging-*"))


def test_framework_specific_exports(build_dir):
    assert (build_dir / "model-repository" / "digits_torchscript" / "1" / "model.pt").is_file()
    config = (build_dir / "model-repository" / "digits_torchscript" / "config.pbtxt").read_text()
    assert 'platform: "pytorch_libtorch"' in config
    assert 'name: "INPUT__0"' in config
    assert (build_dir / "tf-serving" / "tumor" / "1" / "saved_model.pb").is_file()
    assert (build_dir / "tf-serving" / "tumor" / "1" / "variables").is_dir()


@pytest.mark.parametrize("name", ["digits", "tumor"])
def test_config_pbtxt_matches_the_onnx_graph(build_dir, name):
    from latte_serving.pbtxt import first, parse

    repo = build_dir / "model-repository" / name
    config = parse((repo / "config.pbtxt").read_text())
    inputs, outputs = signature(repo / "1" / "model.onnx")
    assert first(config, "platform") == "onnxruntime_onnx"
    for declared, graph in ((config["input"], inputs), (config["output"], outputs)):
        assert [first(t, "name") for t in declared] == [s.name for s in graph]
        assert [first(t, "data_type") for t in declared] == [s.data_type for s in graph]
        assert [list(t["dims"]) for t in declared] == [list(s.dims[1:]) for s in graph]
        assert all(s.dims[0] == -1 for s in graph)  # dynamic batch axis


@pytest.mark.parametrize("name", ["digits", "tumor"])
def test_onnx_runtime_reproduces_the_reported_accuracy(build_dir, name):
    config = load_config(config_path(name))
    family = get_family(name)
    split = split_dataset(
        family.load_data(), seed=config.seed,
        validation_fraction=config.validation_fraction, test_fraction=config.test_fraction,
    )  # fmt: skip
    x_test, y_test = split.part("test")
    scores = run_onnx(build_dir / "model-repository" / name / "1" / "model.onnx", x_test)
    accuracy = float(np.mean(family.decide(scores, config) == y_test))
    report = json.loads((build_dir / "models" / name / "metrics.json").read_text())
    assert report["data"]["split_digest"] == split.digest()
    assert accuracy == pytest.approx(report["metrics"]["accuracy"], abs=1e-6)


@pytest.mark.slow
def test_a_second_build_in_a_fresh_process_is_byte_identical(built, build_dir, tmp_path):
    again = tmp_path / "again"
    run = subprocess.run(
        [sys.executable, "-m", "latte_models", "build", "digits", "tumor",
         "--build-dir", str(again)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "[digits] train ..." in run.stdout
    assert "[tumor] report ..." in run.stdout
    for name in ("digits", "tumor"):
        digest = json.loads((again / "models" / name / "metrics.json").read_text())
        assert digest["artifact_digest"] == built[name].artifact_digest
    for tree in (
        "model-repository/digits",
        "model-repository/digits_torchscript",
        "model-repository/tumor",
        "tf-serving/tumor",
    ):
        assert tree_digest(again / tree) == tree_digest(build_dir / tree), tree


def test_a_gate_above_the_achieved_metric_fails_the_build_and_publishes_nothing(built, tmp_path):
    achieved = built["digits"].report["metrics"]["f1_macro"]
    strict = load_config(config_path("digits")).with_gates({"f1_macro": 0.9999})
    assert achieved < 0.9999
    with pytest.raises(GateError) as failure:
        build_model("digits", tmp_path, config=strict)
    message = str(failure.value)
    assert f"f1_macro = {achieved:.4f} < gate 0.9999" in message
    assert "digits.toml" in message
    assert list(tmp_path.iterdir()) == []


def test_cli_cpu_override_changes_only_the_instance_group(build_dir, tmp_path, capsys):
    from latte_models.__main__ import main

    assert main(["build", "digits", "--instance-kind", "cpu", "--build-dir", str(tmp_path)]) == 0
    assert "digits: sha256:" in capsys.readouterr().out
    repo, reference = tmp_path / "model-repository" / "digits", build_dir / "model-repository"
    assert "kind: KIND_CPU" in (repo / "config.pbtxt").read_text()
    assert (repo / "1" / "model.onnx").read_bytes() == (
        reference / "digits" / "1" / "model.onnx"
    ).read_bytes()
    gpu = (reference / "digits" / "config.pbtxt").read_text()
    assert (repo / "config.pbtxt").read_text() == gpu.replace("KIND_GPU", "KIND_CPU")
