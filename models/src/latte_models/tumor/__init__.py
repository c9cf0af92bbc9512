"""tumor: a TensorFlow/Keras classifier on scikit-learn's bundled breast-cancer set."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from latte_models._common.data import Dataset, Split
from latte_models._common.family import Trained
from latte_models.config import ModelConfig

if TYPE_CHECKING:
    from latte_models.distributed.world import Run

__all__ = ["TumorFamily"]

MALIGNANT = 0  # scikit-learn's coding: 0 malignant, 1 benign


class TumorFamily:
    """Binary, positive class *malignant*: precision/recall/F1 are that class's, and a case
    is called malignant at the config's (low) probability threshold."""

    framework: str = "tensorflow"
    positive_class: int | None = MALIGNANT
    distributions: tuple[str, ...] = ("tensorflow-cpu", "keras", "tf2onnx")

    def load_data(self) -> Dataset:
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer()
        # labels kept as shipped, so the split matches anyone else splitting the same data
        return Dataset(
            source="sklearn.datasets.load_breast_cancer",
            x=np.asarray(bunch.data, dtype=np.float32),
            y=np.asarray(bunch.target, dtype=np.int64),
            labels=tuple(str(name) for name in bunch.target_names),
        )

    def train(self, split: Split, config: ModelConfig) -> Trained:
        # tensorflow is imported only here: it takes many seconds
        from latte_models.tumor import _net

        return _net.train(split, config)

    def train_distributed(
        self, split: Split, config: ModelConfig, run: Run, say: Callable[[str], None]
    ) -> Trained | None:
        from latte_models.tumor import _mwms  # the custom loop only for distributed runs

        return _mwms.train_mwms(split, config, run, say)

    def decide(self, scores: NDArray[np.float32], config: ModelConfig) -> NDArray[np.int64]:
        threshold = float(config.train["threshold"])
        benign = 1 - MALIGNANT
        return np.where(scores[:, 0] >= threshold, MALIGNANT, benign).astype(np.int64)
