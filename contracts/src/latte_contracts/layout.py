"""Where things go under the build folder (``build/`` by default).

    build/
    ├── model-repository/<model>/     the exported tree (config.pbtxt, <version>/model.*): Triton's
    ├── models/<model>/metrics.json   the build report (BuildReport), beside the model card
    ├── models/<model>/test_split.npz the held-out rows the model was evaluated on (x, y)
    ├── bench/<model>/bench.json      the bench report (BenchReport), beside Locust's files
    └── reports/                      tree-wide reports: JUnit, coverage, security scans

Every package names these paths through :class:`BuildLayout`, never as strings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

__all__ = ["BuildLayout"]


@dataclasses.dataclass(frozen=True)
class BuildLayout:
    """The paths below one build folder ``root``."""

    root: Path

    @property
    def model_repository(self) -> Path:
        return self.root / "model-repository"

    def model_tree(self, model: str) -> Path:
        """The exported tree of ``model``: what the tree digest is computed over."""
        return self.model_repository / model

    @property
    def models(self) -> Path:
        return self.root / "models"

    def model_dir(self, model: str) -> Path:
        return self.models / model

    def metrics(self, model: str) -> Path:
        return self.model_dir(model) / "metrics.json"

    def all_metrics(self) -> list[Path]:
        """Every built model's metrics.json, sorted by model name."""
        return sorted(self.models.glob("*/metrics.json"))

    def test_split(self, model: str) -> Path:
        return self.model_dir(model) / "test_split.npz"

    @property
    def bench(self) -> Path:
        return self.root / "bench"

    def bench_dir(self, model: str) -> Path:
        return self.bench / model

    def bench_report(self, model: str) -> Path:
        return self.bench_dir(model) / "bench.json"

    @property
    def reports(self) -> Path:
        return self.root / "reports"
