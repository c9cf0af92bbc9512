"""Predicted classes and top-class confidences, counted as plain numbers on the hot path and
exported as a counter and a histogram when Prometheus scrapes.

prometheus_client's children take a lock on every update; per answer that was the largest
part of live monitoring's cost. The gateway serves and scrapes on one event loop, so plain
increments are safe here.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

__all__ = ["CONFIDENCE_BUCKETS", "LiveCounts"]

CONFIDENCE_BUCKETS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


class LiveCounts:
    """``latte_model_predictions_total{model,version,class}`` and
    ``latte_model_confidence{model,version}``, per (model, version)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._classes: dict[tuple[str, str], list[int]] = {}
        # per (model, version): one count per bucket (+Inf last), then the sum
        self._confidence: dict[tuple[str, str], list[float]] = {}
        registry.register(self)

    def initialise(self, model: str, version: str, classes: int) -> None:
        """Every class of a version at 0, before its first answer."""
        self._classes.setdefault((model, version), [0] * classes)
        self._confidence.setdefault((model, version), [0.0] * (len(CONFIDENCE_BUCKETS) + 2))

    def add(self, model: str, version: str, classes: Sequence[int], top: Sequence[float]) -> None:
        counts = self._classes[(model, version)]
        for cls in classes:
            counts[cls] += 1
        histogram = self._confidence[(model, version)]
        for value in top:
            histogram[bisect.bisect_left(CONFIDENCE_BUCKETS, value)] += 1
            histogram[-1] += value

    def collect(self) -> Iterator[Metric]:
        predictions = CounterMetricFamily(
            "latte_model_predictions",
            "Predicted classes (rows) per model version: the label-free distribution.",
            labels=["model", "version", "class"],
        )
        for (model, version), counts in self._classes.items():
            for cls, count in enumerate(counts):
                predictions.add_metric([model, version, str(cls)], count)
        yield predictions
        confidence = HistogramMetricFamily(
            "latte_model_confidence",
            "Top-class probability per predicted row.",
            labels=["model", "version"],
        )
        for (model, version), histogram in self._confidence.items():
            cumulative, buckets = 0.0, []
            for bound, rows in zip((*CONFIDENCE_BUCKETS, float("inf")), histogram, strict=False):
                cumulative += rows
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            confidence.add_metric([model, version], buckets, histogram[-1])
        yield confidence
