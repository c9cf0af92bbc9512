"""Prometheus metrics of one gateway (its own registry, so tests can run several apps)."""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

__all__ = ["GatewayMetrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


@dataclasses.dataclass(frozen=True)
class GatewayMetrics:
    registry: CollectorRegistry
    requests: Counter
    errors: Counter
    latency: Histogram
    fallbacks: Counter
    batch_size: Histogram
    in_flight: Gauge

    @classmethod
    def create(cls) -> GatewayMetrics:
        registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # process_cpu_seconds_total, resident memory, fds
        return cls(
            registry=registry,
            requests=Counter(
                "latte_gateway_requests_total",
                "Inference requests answered, by model, version, route and HTTP status.",
                ["model", "version", "route", "code"],
                registry=registry,
            ),
            errors=Counter(
                "latte_gateway_errors_total",
                "Requests or backend calls that failed, by model and reason.",
                ["model", "reason"],
                registry=registry,
            ),
            latency=Histogram(
                "latte_gateway_request_duration_seconds",
                "Time to answer an inference request, by model, version and route.",
                ["model", "version", "route"],
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            fallbacks=Counter(
                "latte_gateway_fallbacks_total",
                "Canary failures answered by the stable version instead.",
                ["model", "from_version", "to_version", "reason"],
                registry=registry,
            ),
            batch_size=Histogram(
                "latte_gateway_batch_size",
                "Rows per batch the local backend ran, by model and version.",
                ["model", "version"],
                buckets=_BATCH_BUCKETS,
                registry=registry,
            ),
            in_flight=Gauge(
                "latte_gateway_in_flight_requests",
                "Requests being served right now.",
                registry=registry,
            ),
        )
