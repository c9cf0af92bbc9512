"""Live model monitoring on the gateway: predictions, feedback, shadow agreement, events.

The monitoring file (YAML, rendered by the chart from ``monitoring.gateway`` values)::

    tenants: {"0123456789abcdef": acme}      # key id (tenants.key_id) -> tenant, <= 100
    events: [conversion]                     # business event names accepted by /v2/events
    predictions: {max_entries: 50000, ttl_seconds: 86400}   # per model
    models:
      tumor: {threshold: 0.2, positive_class: 1}   # the build's decision rule and gated class

Everything it exports has bounded labels: models and versions the gateway serves, class
indices of their outputs, the configured tenants and events, fixed reasons.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from latte_serving._monitor_metrics import MonitorMetrics
from latte_serving.errors import ConfigFileError
from latte_serving.prediction_cache import CachedPrediction, PredictionCache
from latte_serving.predictions import Classifier, Prediction, classifier_for
from latte_serving.repository import ModelSpec
from latte_serving.routing import RoutingTable
from latte_serving.tenants import TenantMap

__all__ = ["ModelQuality", "Monitor", "MonitoringConfig", "load_monitoring"]

_EVENT = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_EVENTS = 20


@dataclasses.dataclass(frozen=True)
class ModelQuality:
    """How a model's answers become classes, and which class its build gates on."""

    threshold: float = 0.5
    positive_class: int | None = None


@dataclasses.dataclass(frozen=True)
class MonitoringConfig:
    tenants: Mapping[str, str] = dataclasses.field(default_factory=dict)
    events: tuple[str, ...] = ("conversion",)
    max_entries: int = 50_000
    ttl_s: float = 86_400.0
    models: Mapping[str, ModelQuality] = dataclasses.field(default_factory=dict)


def load_monitoring(path: Path | None) -> MonitoringConfig:
    """Read the monitoring file; None gives the defaults (no tenants, ``conversion``)."""
    if path is None:
        return MonitoringConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return _config(data)
    except (OSError, yaml.YAMLError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigFileError(
            f"monitoring file {path}: {' '.join(str(exc).split())}; see "
            "latte_serving.monitoring for its format"
        ) from exc


def _config(data: Mapping[str, Any]) -> MonitoringConfig:
    events = tuple(str(e) for e in data.get("events", ("conversion",)))
    bad = [e for e in events if not _EVENT.fullmatch(e)]
    if bad or len(events) > MAX_EVENTS:
        raise ValueError(f"events must be <= {MAX_EVENTS} names matching [a-z][a-z0-9_]*: {bad}")
    predictions = data.get("predictions") or {}
    models = {
        str(name): ModelQuality(
            threshold=float(item.get("threshold", 0.5)),
            positive_class=None
            if item.get("positive_class") is None
            else int(item["positive_class"]),
        )
        for name, item in (data.get("models") or {}).items()
    }
    config = MonitoringConfig(
        tenants=dict(data.get("tenants") or {}),
        events=events,
        max_entries=int(predictions.get("max_entries", 50_000)),
        ttl_s=float(predictions.get("ttl_seconds", 86_400)),
        models=models,
    )
    if config.max_entries < 1 or config.ttl_s <= 0:
        raise ValueError("predictions.max_entries and ttl_seconds must be positive")
    TenantMap(config.tenants)  # validated here, so a bad map fails at startup
    return config


class Monitor:
    """Records what the gateway answered and joins labels and events to it."""

    def __init__(self, config: MonitoringConfig, metrics: MonitorMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self.tenants = TenantMap(config.tenants)
        self.cache = PredictionCache(
            max_entries=config.max_entries, ttl_s=config.ttl_s, on_evict=self._evicted
        )
        self.classifiers: dict[str, Classifier] = {}
        self._shadow_pending: dict[str, tuple[int, tuple[int, ...]]] = {}
        self._known: set[tuple[str, int]] = set()
        self._served: frozenset[str] = frozenset()
        self._requests: dict[tuple[str, str, str], Any] = {}
        self._evictions: dict[tuple[str, str], Any] = {}
        self._labels: dict[int, str] = {}

    def configure(self, models: Mapping[str, ModelSpec], routing: RoutingTable) -> None:
        """Learn the classifiers and create every series of routed versions at zero, so a
        window's first sample is the same for all of them (see the quality rules)."""
        self.classifiers = {}
        self._served = frozenset(models)
        for name, spec in models.items():
            quality = self.config.models.get(name, ModelQuality())
            classifier = classifier_for(spec, quality.threshold)
            if classifier is None:
                continue
            self.classifiers[name] = classifier
            self.metrics.cache_entries.labels(name).set_function(
                functools.partial(self.cache.size, name)
            )
            if quality.positive_class is not None:
                self.metrics.gated_class.labels(name, str(quality.positive_class)).set(1)
            route = routing.routes.get(name)
            for version in route.versions if route else spec.versions[-1:]:
                self._initialise(name, version)

    def known_model(self, model: str) -> bool:
        return model in self.classifiers

    def observe(
        self, request_id: str, headers: Mapping[str, str], model: str, version: int, response: Any
    ) -> None:
        """One answer the client got (not shadows): count it, cache it for feedback."""
        tenant = self.tenants.tenant(headers)
        self._count_request(tenant, model, "200")
        classifier = self.classifiers.get(model)
        prediction = classifier.decode(response) if classifier is not None else None
        if prediction is None or not request_id:
            return
        self._count_prediction(model, version, prediction)
        entry = CachedPrediction(model, version, prediction.classes, tenant, self.cache.now())
        self.cache.put(request_id, entry)
        pending = self._shadow_pending.pop(request_id, None)
        if pending is not None:
            self._agreement(model, pending[0], pending[1], prediction.classes)

    def observe_failure(self, headers: Mapping[str, str], model: str, status: int) -> None:
        model = model if model in self._served else "other"  # a path is not a label value
        self._count_request(self.tenants.tenant(headers), model, str(status))

    def observe_shadow(self, request_id: str, model: str, version: int, response: Any) -> None:
        """A shadow's answer: compared with what the client got for the same request."""
        classifier = self.classifiers.get(model)
        prediction = classifier.decode(response) if classifier is not None else None
        if prediction is None or not request_id:
            return
        entry, _ = self.cache.get(request_id, model)
        if entry is not None:
            self._agreement(model, version, prediction.classes, entry.classes)
            return
        if len(self._shadow_pending) >= 4096:  # the client's answer never came: drop oldest
            self._shadow_pending.pop(next(iter(self._shadow_pending)))
        self._shadow_pending[request_id] = (version, prediction.classes)

    def _count_request(self, tenant: str, model: str, code: str) -> None:
        key = (tenant, model, code)  # bounded: tenants x served models x status codes
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self.metrics.tenant_requests.labels(*key)
        child.inc()

    def _initialise(self, model: str, version: int) -> None:
        if (model, version) in self._known:
            return
        self._known.add((model, version))
        count = self.classifiers[model].classes
        self.metrics.live.initialise(model, str(version), count)
        classes = [str(c) for c in range(count)]
        for predicted in classes:
            for actual in classes:
                self.metrics.feedback.labels(model, str(version), predicted, actual)

    def _count_prediction(self, model: str, version: int, prediction: Prediction) -> None:
        label = self._labels.get(version)
        if label is None:
            label = self._labels[version] = str(version)
        if (model, version) not in self._known:
            self._initialise(model, version)
        self.metrics.live.add(model, label, prediction.classes, prediction.confidences)

    def _agreement(
        self, model: str, shadow: int, ours: tuple[int, ...], theirs: tuple[int, ...]
    ) -> None:
        agree = sum(a == b for a, b in zip(ours, theirs, strict=False))
        counter = self.metrics.shadow_agreement
        counter.labels(model, str(shadow), "true").inc(agree)
        counter.labels(model, str(shadow), "false").inc(max(len(ours), len(theirs)) - agree)

    def _evicted(self, model: str, reason: str) -> None:
        key = (model, reason)
        child = self._evictions.get(key)
        if child is None:
            child = self._evictions[key] = self.metrics.cache_evictions.labels(model, reason)
        child.inc()
