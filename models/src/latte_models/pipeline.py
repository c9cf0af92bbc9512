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
from typing import TYPE_CHECKING, Any

from latte_contracts.layout import BuildLayout
from latte_models import _steps as steps
from latte_models._steps import State
from latte_models.config import ModelConfig
from latte_models.models import get_family

if TYPE_CHECKING:
    from latte_models.distributed.world import Run

__all__ = ["BuildResult", "build", "build_distributed"]

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
    result = _run(config, build_dir, progress, run=None)
    assert result is not None
    return result


def build_distributed(
    config: ModelConfig, build_dir: Path, run: Run, *, progress: Progress | None = None
) -> BuildResult | None:
    """The same build with training data-parallel over ``run.world``: every worker trains,
    the chief (rank 0) alone evaluates, gates, exports and publishes; others return None."""
    return _run(config, build_dir, progress, run=run)


def _run(
    config: ModelConfig, build_dir: Path, progress: Progress | None, run: Run | None
) -> BuildResult | None:
    say = progress or (lambda _line: None)
    build_dir = Path(build_dir).resolve()
    chief = run is None or run.world.is_chief
    # only the chief writes below build_dir (workers may share the folder)
    staging = build_dir / f".staging-{config.name}" if chief else Path()
    if chief:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    family = get_family(config.name)
    state = State(config=config, family=family, staging=staging, run=run, say=say)
    try:
        started = time.perf_counter()
        for label, step in STEPS if chief else STEPS[:2]:
            say(f"[{config.name}] {label} ...")
            began = time.perf_counter()
            step(state)
            state.seconds[label] = round(time.perf_counter() - began, 3)
        if not chief:
            return None
        steps.publish(state, build_dir)
        say(f"[{config.name}] built in {time.perf_counter() - started:.1f} s")
    finally:
        if chief:
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
