"""The series live monitoring exports, on the gateway's own registry."""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from latte_serving._live_counts import LiveCounts

__all__ = ["MonitorMetrics"]

# feedback arrives seconds (a click) to days (a diagnosis) after the answer
_DELAY_BUCKETS = (1, 10, 60, 300, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 7 * 86400)


@dataclasses.dataclass(frozen=True)
class MonitorMetrics:
    feedback: Counter
    feedback_delay: Histogram
    feedback_unmatched: Counter
    live: LiveCounts  # predicted classes and confidences, counted without locks
    shadow_agreement: Counter
    gated_class: Gauge
    cache_entries: Gauge
    cache_evictions: Counter
    tenant_requests: Counter
    events: Counter
    events_dropped: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> MonitorMetrics:
        def counter(name: str, doc: str, labels: list[str]) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        def gauge(name: str, doc: str, labels: list[str]) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

        def histogram(
            name: str, doc: str, labels: list[str], buckets: tuple[float, ...]
        ) -> Histogram:
            return Histogram(name, doc, labels, buckets=buckets, registry=registry)

        return cls(
            feedback=counter(
                "latte_model_feedback_total",
                "Labelled answers: the confusion matrix (rows = actual) per model version.",
                ["model", "version", "predicted", "actual"],
            ),
            feedback_delay=histogram(
                "latte_model_feedback_delay_seconds",
                "Time from an answer to its label.",
                ["model"],
                _DELAY_BUCKETS,
            ),
            feedback_unmatched=counter(
                "latte_model_feedback_unmatched_total",
                "Feedback items not joined to an answer, by reason.",
                ["model", "reason"],
            ),
            live=LiveCounts(registry),
            shadow_agreement=counter(
                "latte_shadow_agreement_total",
                "Rows where the shadow version's class equals the answered version's.",
                ["model", "version", "agree"],
            ),
            gated_class=gauge(
                "latte_model_gated_class",
                "1 for the class whose recall the model's build gates on.",
                ["model", "class"],
            ),
            cache_entries=gauge(
                "latte_prediction_cache_entries",
                "Answers kept for feedback and events.",
                ["model"],
            ),
            cache_evictions=counter(
                "latte_prediction_cache_evictions_total",
                "Answers dropped from the cache before any label came, by reason.",
                ["model", "reason"],
            ),
            tenant_requests=counter(
                "latte_tenant_requests_total",
                "Inference requests by tenant (from the API key), model and HTTP status.",
                ["tenant", "model", "code"],
            ),
            events=counter(
                "latte_business_events_total",
                "Business events (e.g. conversion) after an answer, by tenant and version.",
                ["tenant", "event", "model", "version"],
            ),
            events_dropped=counter(
                "latte_business_events_dropped_total",
                "Business events refused, by reason.",
                ["reason"],
            ),
        )
