"""digits: a PyTorch MLP on scikit-learn's bundled 8x8 handwritten digits (10 classes)."""

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

__all__ = ["DigitsFamily"]


class DigitsFamily:
    """Multi-class: metrics are macro averages; the prediction is the most probable digit."""

    framework: str = "pytorch"
    positive_class: int | None = None
    distributions: tuple[str, ...] = ("torch",)

    def load_data(self) -> Dataset:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return Dataset(
            source="sklearn.datasets.load_digits",
            x=np.asarray(bunch.data, dtype=np.float32),
            y=np.asarray(bunch.target, dtype=np.int64),
            labels=tuple(str(n) for n in bunch.target_names),
        )

    def train(self, split: Split, config: ModelConfig) -> Trained:
        # torch is imported only here: importing latte_models stays cheap
        from latte_models.digits import _net

        return _net.train(split, config)

    def train_distributed(
        self, split: Split, config: ModelConfig, run: Run, say: Callable[[str], None]
    ) -> Trained | None:
        from latte_models.digits import _ddp  # torch.distributed only for distributed runs

        return _ddp.train_ddp(split, config, run, say)

    def decide(self, scores: NDArray[np.float32], config: ModelConfig) -> NDArray[np.int64]:
        return np.asarray(np.argmax(scores, axis=1), dtype=np.int64)
