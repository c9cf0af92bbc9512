"""One model build as a tuple of named steps: data -> train -> evaluate -> gate -> export ->
verify -> latency -> report -> publish.

Everything is written into a staging folder inside the build dir and moved into place only
when every step passed, so a failed build never leaves half an artifact behind.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from latte_contracts.layout import BuildLayout
from latte_models import _steps as steps
from latte_models._steps import State
from latte_models.config import ModelConfig
from latte_models.models import get_family

__all__ = ["BuildResult", "build"]

Progress = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class BuildResult:
    """Where a finished build went and what it measured (``report`` is metrics.json)."""

    name: str
    artifact_digest: str
    model_repository: Path
    report_dir: Path
    report: dict[str, Any]


STEPS: tuple[tuple[str, Callable[[State], None]], ...] = (
    ("load data", steps.load_data),
    ("train", steps.train),
    ("evaluate", steps.evaluate_model),
    ("gates", steps.gate),
    ("export onnx", steps.export_onnx),
    ("export extras", steps.export_extras),
    ("latency", steps.measure_latency),
    ("report", steps.write_report),
)


def build(config: ModelConfig, build_dir: Path, *, progress: Progress | None = None) -> BuildResult:
    """Train, evaluate, gate, export and verify the model ``config`` describes; publish it
    under ``build_dir``. Raises a :class:`~latte_models.errors.ModelsError` on bad input, a
    failed gate or an export that does not reproduce the framework's outputs."""
    say = progress or (lambda _line: None)
    build_dir = Path(build_dir).resolve()
    staging = build_dir / f".staging-{config.name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    state = State(config=config, family=get_family(config.name), staging=staging)
    try:
        started = time.perf_counter()
        for label, step in STEPS:
            say(f"[{config.name}] {label} ...")
            began = time.perf_counter()
            step(state)
            state.seconds[label] = round(time.perf_counter() - began, 3)
        steps.publish(state, build_dir)
        say(f"[{config.name}] built in {time.perf_counter() - started:.1f} s")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report, layout = state.need_report(), BuildLayout(build_dir)
    assert report.artifact_digest is not None
    return BuildResult(
        name=config.name,
        artifact_digest=report.artifact_digest,
        model_repository=layout.model_tree(config.name),
        report_dir=layout.model_dir(config.name),
        report=report.to_json(),
    )
