"""The build steps. Each takes the pipeline :class:`State`, does one thing and records it."""

from __future__ import annotations

import dataclasses
import platform
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from latte_contracts.atomic import move_into_place
from latte_contracts.digest import tree_digest
from latte_contracts.layout import BuildLayout
from latte_contracts.reports import BuildReport, GateRecord
from latte_models._common import onnx_io, report
from latte_models._common.data import Split, split_dataset, write_test_split
from latte_models._common.evaluate import Evaluation, evaluate
from latte_models._common.family import Extra, Family, Trained
from latte_models._common.gates import GateResult, check_gates, enforce_gates
from latte_models._common.triton import render_config
from latte_models.config import ModelConfig
from latte_models.errors import ExportError

__all__ = ["State"]

# the served model folder's version in a local build; the registry assigns real versions
LOCAL_VERSION = "1"
_COMMON_DISTRIBUTIONS = ("numpy", "scikit-learn", "onnx", "onnxruntime")


@dataclasses.dataclass
class State:
    """What the steps hand each other (mutable on purpose: it is the pipeline's scratchpad)."""

    config: ModelConfig
    family: Family
    staging: Path
    split: Split | None = None
    trained: Trained | None = None
    test_scores: NDArray[np.float32] | None = None
    evaluation: Evaluation | None = None
    validation: Evaluation | None = None
    gates: list[GateResult] = dataclasses.field(default_factory=list)
    exports: list[Extra] = dataclasses.field(default_factory=list)
    latency: dict[str, float] = dataclasses.field(default_factory=dict)
    report: BuildReport | None = None
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def layout(self) -> BuildLayout:
        """The staging folder is laid out as the build folder it is published into."""
        return BuildLayout(self.staging)

    @property
    def onnx_path(self) -> Path:
        return self.layout.model_tree(self.config.name) / LOCAL_VERSION / "model.onnx"

    def relative(self, path: Path) -> str:
        """``path`` below the staging folder, as the build folder names it."""
        return path.relative_to(self.staging).as_posix()

    def need_report(self) -> BuildReport:
        assert self.report is not None, "the report step runs first"
        return self.report

    def need_split(self) -> Split:
        assert self.split is not None, "load data runs first"
        return self.split

    def need_trained(self) -> Trained:
        assert self.trained is not None, "train runs first"
        return self.trained


def load_data(state: State) -> None:
    config = state.config
    state.split = split_dataset(
        state.family.load_data(),
        seed=config.seed,
        validation_fraction=config.validation_fraction,
        test_fraction=config.test_fraction,
    )


def train(state: State) -> None:
    state.trained = state.family.train(state.need_split(), state.config)


def evaluate_model(state: State) -> None:
    split, trained = state.need_split(), state.need_trained()
    x_test, y_test = split.part("test")
    state.test_scores = trained.predict(x_test)
    state.evaluation = _score(state, state.test_scores, y_test)
    x_val, y_val = split.part("validation")
    state.validation = _score(state, trained.predict(x_val), y_val)


def _score(state: State, scores: NDArray[np.float32], truth: NDArray[np.int64]) -> Evaluation:
    predicted = state.family.decide(scores, state.config)
    labels = state.need_split().dataset.labels
    return evaluate(truth, predicted, labels, positive=state.family.positive_class)


def gate(state: State) -> None:
    assert state.evaluation is not None
    state.gates = check_gates(state.evaluation.metrics, state.config.gates)
    enforce_gates(state.config.name, state.gates, state.config.source)


def export_onnx(state: State) -> None:
    """Export, check the exported outputs against the framework's, write config.pbtxt."""
    config, path = state.config, state.onnx_path
    path.parent.mkdir(parents=True)
    state.need_trained().export_onnx(path)
    inputs, outputs = onnx_io.signature(path)
    names = ([s.name for s in inputs], [s.name for s in outputs])
    if names != ([config.input_name], [config.output_name]):
        raise ExportError(
            f"{config.name}: the ONNX graph has inputs/outputs {names}, the config says "
            f"[{config.input_name}]/[{config.output_name}]; fix [signature] in {config.source}"
        )
    x_test, _ = state.need_split().part("test")
    diff = _max_diff(onnx_io.run_onnx(path, x_test), state.test_scores)
    state.exports.append(Extra("onnx", state.relative(path.parent.parent), diff))
    text = render_config(config.name, "onnxruntime_onnx", inputs, outputs, config.triton)
    (path.parent.parent / "config.pbtxt").write_text(text, encoding="utf-8")
    _check_tolerance(state, state.exports[-1])


def export_extras(state: State) -> None:
    x_test, _ = state.need_split().part("test")
    for extra in state.need_trained().export_extras(state.staging, x_test):
        state.exports.append(extra)
        _check_tolerance(state, extra)


def _max_diff(got: NDArray[np.float32], want: NDArray[np.float32] | None) -> float:
    assert want is not None
    return float(np.max(np.abs(got - want)))


def _check_tolerance(state: State, extra: Extra) -> None:
    if not extra.max_abs_diff <= state.config.atol:
        raise ExportError(
            f"{state.config.name}: the {extra.kind} export differs from "
            f"{state.family.framework} by {extra.max_abs_diff:.3g} on the test split "
            f"(tolerance {state.config.atol:g}); check the export or raise [verify] atol "
            f"in {state.config.source} deliberately"
        )


def measure_latency(state: State) -> None:
    """ONNX Runtime batch-1 latency, beside the framework's own batch-1 call as a baseline
    measured in the same run."""
    x_test, _ = state.need_split().part("test")
    trained, row = state.need_trained(), x_test[:1]
    state.latency = onnx_io.latency_ms(state.onnx_path, x_test)
    framework = onnx_io.time_calls(lambda: trained.predict(row))
    state.latency["framework_p50_ms"] = framework["p50_ms"]
    state.latency["framework_over_onnxruntime_p50"] = round(
        framework["p50_ms"] / max(state.latency["p50_ms"], 1e-9), 2
    )


def write_report(state: State) -> None:
    folder = state.layout.model_dir(state.config.name)
    folder.mkdir(parents=True)
    state.report = _report(state)
    assert state.evaluation is not None
    state.report.write(state.layout.metrics(state.config.name))
    write_test_split(state.layout.test_split(state.config.name), state.need_split())
    report.write_card(folder / "model_card.md", state.report.to_json())
    report.write_confusion_png(
        folder / "confusion_matrix.png", state.evaluation.confusion, state.evaluation.labels
    )


def _report(state: State) -> BuildReport:
    config, split = state.config, state.need_split()
    assert state.evaluation is not None
    assert state.validation is not None
    return BuildReport(
        name=config.name,
        framework=state.family.framework,
        artifact_digest=tree_digest(state.layout.model_tree(config.name)),
        metrics=state.evaluation.metrics,
        validation_metrics=state.validation.metrics,
        confusion_matrix={
            "labels": list(split.dataset.labels),
            "rows_true_columns_predicted": state.evaluation.confusion,
        },
        gates=tuple(GateRecord(g.metric, g.passed, g.minimum, g.value) for g in state.gates),
        gates_passed=all(result.passed for result in state.gates),
        data={
            "source": split.dataset.source,
            "split_digest": split.digest(),
            "sizes": split.sizes(),
            "seed": config.seed,
        },
        data_digest=split.digest(),
        signature={"input": config.input_name, "output": config.output_name},
        decision=_decision(state),
        exports=tuple(_export_entry(state, extra) for extra in state.exports),
        verify_atol=config.atol,
        latency=state.latency,
        versions=_versions(state.family),
        hyperparameters=dict(config.train),
        seconds=dict(state.seconds),
    )


def _decision(state: State) -> str:
    if state.family.positive_class is None:
        return "argmax of the probabilities"
    label = state.need_split().dataset.labels[state.family.positive_class]
    return f"{label} when probability >= {state.config.train['threshold']}"


def _export_entry(state: State, extra: Extra) -> dict[str, Any]:
    folder = state.staging / extra.folder
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {
        "kind": extra.kind,
        "path": extra.folder,
        "digest": tree_digest(folder),
        "bytes": size,
        "max_abs_diff": extra.max_abs_diff,
    }


def _versions(family: Family) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in (*family.distributions, *_COMMON_DISTRIBUTIONS):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def publish(state: State, build_dir: Path) -> None:
    """Move each staged folder over its published place (replacing an older build)."""
    model_dir = Path(state.relative(state.layout.model_dir(state.config.name)))
    staged = sorted({Path(extra.folder) for extra in state.exports} | {model_dir})
    for relative in staged:
        target = build_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        move_into_place(state.staging / relative, target)
