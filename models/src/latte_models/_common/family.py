"""The extension point: what a model family (one folder under latte_models/) provides.

A family loads its dataset, trains on a :class:`Split`, and hands back a :class:`Trained`
that predicts with the framework itself and exports. The build pipeline does the rest
(evaluation, gates, verification, Triton config, reports), the same for every framework.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from latte_models._common.data import Dataset, Split
from latte_models.config import ModelConfig

if TYPE_CHECKING:
    from latte_models.distributed.world import Run

__all__ = ["Extra", "Family", "Trained"]


@dataclasses.dataclass(frozen=True)
class Extra:
    """An export besides the ONNX model: where it went (relative to the staging root) and
    how far its outputs are from the framework's on the check batch."""

    kind: str
    folder: str
    max_abs_diff: float


class Trained(Protocol):
    """A trained model, still in its framework."""

    def predict(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        """The exported output (probabilities) computed by the framework itself."""
        ...

    def export_onnx(self, path: Path) -> None:
        """Write the ONNX graph, with the config's input and output names, to ``path``."""
        ...

    def export_extras(self, staging: Path, x_check: NDArray[np.float32]) -> list[Extra]:
        """Write the framework-native exports below ``staging`` and check each one."""
        ...


class Family(Protocol):
    """One model family: its data, its training and its decision rule."""

    framework: str
    # the class whose precision/recall/F1 are reported for a binary model; None = macro
    positive_class: int | None
    distributions: tuple[str, ...]

    def load_data(self) -> Dataset: ...

    def train(self, split: Split, config: ModelConfig) -> Trained: ...

    def train_distributed(
        self, split: Split, config: ModelConfig, run: Run, say: Callable[[str], None]
    ) -> Trained | None:
        """Train as one worker of ``run`` (data-parallel, on the framework's own engine); the
        chief gets the trained model, the other workers None."""
        ...

    def decide(self, scores: NDArray[np.float32], config: ModelConfig) -> NDArray[np.int64]:
        """Turn the exported output into class labels."""
        ...
