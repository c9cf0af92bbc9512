"""The server's own latency from its ``/metrics`` page: sub-millisecond truth beside Locust.

Locust rounds response times to whole milliseconds; the gateway's Prometheus histogram
(``latte_gateway_request_duration_seconds``) and Triton's cumulative counters
(``nv_inference_request_duration_us`` / ``nv_inference_request_success``) do not. Two scrapes,
one before and one after a step, give that step's distribution.
"""

from __future__ import annotations

import dataclasses
import math
import urllib.error
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

from latte_loadtests._http import http_get
from latte_loadtests.errors import BenchUsageError

__all__ = ["Scrape", "ServerLatency", "parse_scrape", "scrape", "server_latency"]

GATEWAY_HISTOGRAM = "latte_gateway_request_duration_seconds"
TRITON_DURATION = "nv_inference_request_duration_us"
TRITON_SUCCESS = "nv_inference_request_success"


@dataclasses.dataclass(frozen=True)
class Scrape:
    """Per-model cumulative values: histogram buckets (le -> count), sums, counts."""

    buckets: dict[str, dict[float, float]]
    sums: dict[str, float]
    counts: dict[str, float]
    gpus: tuple[str, ...] = ()  # Triton's nv_gpu_* label gpu_uuid: the GPUs serving

    @property
    def gpu(self) -> bool:
        return bool(self.gpus)


@dataclasses.dataclass(frozen=True)
class ServerLatency:
    source: str
    requests: int
    mean_ms: float
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


def scrape(url: str, timeout: float = 5.0) -> Scrape | None:
    """Fetch and parse ``url``; None when there is no metrics page (the run goes on without)."""
    try:
        return parse_scrape(http_get(url, timeout)[1].decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError, ValueError, BenchUsageError):
        return None


def parse_scrape(text: str) -> Scrape:
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, float] = defaultdict(float)
    gpus: set[str] = set()
    for family in text_string_to_metric_families(text):
        if family.name.startswith("nv_gpu_"):
            gpus.update(s.labels.get("gpu_uuid", "") for s in family.samples)
        for sample in family.samples:
            model = sample.labels.get("model", "")
            # the parser names counter samples <family>_total even when Triton does not
            name = sample.name.removesuffix("_total")
            if name == GATEWAY_HISTOGRAM + "_bucket":
                buckets[model][float(sample.labels["le"])] += sample.value
            elif name in (GATEWAY_HISTOGRAM + "_sum", TRITON_DURATION):
                scale = 1.0 if name == TRITON_DURATION else 1e6  # to microseconds
                sums[model] += sample.value * scale
            elif name in (GATEWAY_HISTOGRAM + "_count", TRITON_SUCCESS):
                counts[model] += sample.value
    found = tuple(sorted(g for g in gpus if g))
    return Scrape({m: dict(b) for m, b in buckets.items()}, dict(sums), dict(counts), found)


def server_latency(before: Scrape, after: Scrape, models: list[str]) -> ServerLatency | None:
    """The latency of the requests answered between two scrapes, for ``models`` together."""
    requests = sum(after.counts.get(m, 0.0) - before.counts.get(m, 0.0) for m in models)
    if requests <= 0:
        return None
    micros = sum(after.sums.get(m, 0.0) - before.sums.get(m, 0.0) for m in models)
    source = "gateway histogram" if any(m in after.buckets for m in models) else "triton counters"
    delta: dict[float, float] = defaultdict(float)
    for model in models:
        old = before.buckets.get(model, {})
        for le, value in after.buckets.get(model, {}).items():
            delta[le] += value - old.get(le, 0.0)
    quantiles = [_quantile(delta, q) for q in (0.5, 0.95, 0.99)] if delta else [None] * 3
    return ServerLatency(source, int(requests), micros / requests / 1000.0, *quantiles)


def _quantile(cumulative: dict[float, float], q: float) -> float | None:
    """Prometheus' histogram_quantile: linear inside the bucket holding rank q * total."""
    edges = sorted(cumulative)
    total = cumulative[edges[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower_edge, lower_count = 0.0, 0.0
    for edge in edges:
        count = cumulative[edge]
        if count >= rank:
            if math.isinf(edge):
                return lower_edge * 1000.0  # beyond the last bucket: its lower bound
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return (lower_edge + (edge - lower_edge) * share) * 1000.0
        lower_edge, lower_count = edge, count
    return None  # pragma: no cover - +Inf always holds the total
