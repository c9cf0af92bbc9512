"""Held-out evaluation: accuracy, precision, recall, F1, confusion matrix."""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

__all__ = ["Evaluation", "evaluate"]


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Metrics by name (floats), the confusion matrix (rows = truth) and its label names."""

    metrics: dict[str, float]
    confusion: list[list[int]]
    labels: tuple[str, ...]


def evaluate(
    y_true: NDArray[np.int64],
    y_pred: NDArray[np.int64],
    labels: tuple[str, ...],
    *,
    positive: int | None = None,
) -> Evaluation:
    """Score predictions. Multi-class models get macro averages (``*_macro``); a binary model
    passes ``positive`` and gets precision/recall/F1 of that class."""
    from sklearn import metrics

    classes = list(range(len(labels)))
    scores = {"accuracy": float(metrics.accuracy_score(y_true, y_pred))}
    if positive is None:
        kwargs: dict[str, object] = {"average": "macro", "labels": classes}
        suffix = "_macro"
    else:
        kwargs, suffix = {"average": "binary", "pos_label": positive}, ""
    for name, scorer in (
        ("precision", metrics.precision_score),
        ("recall", metrics.recall_score),
        ("f1", metrics.f1_score),
    ):
        scores[name + suffix] = float(scorer(y_true, y_pred, zero_division=0, **kwargs))
    confusion = metrics.confusion_matrix(y_true, y_pred, labels=classes)
    return Evaluation({k: round(v, 6) for k, v in scores.items()}, confusion.tolist(), labels)
