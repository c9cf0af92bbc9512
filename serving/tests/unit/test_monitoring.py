"""Live monitoring pieces: decoding answers, the prediction cache, tenants, the config file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from latte_serving._monitor_metrics import MonitorMetrics
from latte_serving.codec import EncodedResponse
from latte_serving.errors import ConfigFileError
from latte_serving.events import record_event
from latte_serving.feedback import record_feedback
from latte_serving.monitoring import Monitor, MonitoringConfig, load_monitoring
from latte_serving.prediction_cache import CachedPrediction, PredictionCache
from latte_serving.predictions import Classifier, classifier_for
from latte_serving.repository import ModelSpec, TensorSpec
from latte_serving.routing import ModelRoute, RoutingTable
from latte_serving.tenants import MAX_TENANTS, TenantMap, key_id


def _json_answer(rows: list[list[float]], name: str = "OUT") -> EncodedResponse:
    output = {"name": name, "datatype": "FP32", "shape": [len(rows), len(rows[0])]}
    body = {"outputs": [{**output, "data": [v for row in rows for v in row]}]}
    return EncodedResponse(json.dumps(body).encode())


def _binary_answer(rows: np.ndarray) -> EncodedResponse:
    raw = rows.astype(np.float32).tobytes()
    other = np.zeros(3, np.float32).tobytes()
    header = {
        "outputs": [
            {"name": "EXTRA", "datatype": "FP32", "shape": [3],
             "parameters": {"binary_data_size": len(other)}},
            {"name": "OUT", "datatype": "FP32", "shape": list(rows.shape),
             "parameters": {"binary_data_size": len(raw)}},
        ]
    }  # fmt: skip
    head = json.dumps(header).encode()
    return EncodedResponse(head + other + raw, header_length=len(head))


def _spec(name: str = "m", width: int = 3) -> ModelSpec:
    return ModelSpec(
        name=name,
        path=__file__,  # type: ignore[arg-type]
        versions=(1, 2),
        inputs=(TensorSpec("IN", "FP32", (4,)),),
        outputs=(TensorSpec("OUT", "FP32", (width,)),),
        max_batch_size=8,
    )


def test_argmax_and_confidence_from_json_and_binary_answers():
    classifier = Classifier("m", "OUT", 3)
    json_prediction = classifier.decode(_json_answer([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]]))
    assert json_prediction.classes == (1, 0)
    assert json_prediction.confidences == pytest.approx((0.7, 0.5))
    binary = classifier.decode(_binary_answer(np.array([[0.2, 0.1, 0.7]])))
    assert binary.classes == (2,)
    logits = classifier.decode(_json_answer([[0.0, 0.0, np.log(2.0)]]))  # softmax: 1/4,1/4,1/2
    assert logits.classes == (2,)
    assert logits.confidences == pytest.approx((0.5,))


def test_a_single_probability_is_called_at_the_models_threshold():
    classifier = Classifier("tumor", "OUT", 2, threshold=0.2)
    prediction = classifier.decode(_json_answer([[0.25], [0.1], [0.9]]))
    assert prediction.classes == (1, 0, 1)
    assert prediction.confidences == pytest.approx((0.25, 0.9, 0.9))


@pytest.mark.parametrize(
    "response",
    [
        EncodedResponse(b"not json"),
        EncodedResponse(b'{"outputs": "x"}'),
        _json_answer([[1.0, 2.0]]),  # wrong width
        _json_answer([[1.0, 2.0, 3.0]], name="OTHER"),
        EncodedResponse(b'{"outputs": [{"name": "OUT", "datatype": "INT64", "shape": [1, 3]}]}'),
    ],
)
def test_undecodable_answers_are_skipped(response):
    assert Classifier("m", "OUT", 3).decode(response) is None


def test_only_batched_float_vector_outputs_are_classifiers():
    assert classifier_for(_spec(width=10)).classes == 10
    assert classifier_for(_spec(width=1)).classes == 2
    plain = ModelSpec("p", __file__, (1,), (), (TensorSpec("Y", "INT64", (2, 2)),))  # type: ignore[arg-type]
    assert classifier_for(plain) is None


def test_cache_evicts_by_capacity_and_ttl_and_counts_both():
    now = [0.0]
    evicted: list[tuple[str, str]] = []
    cache = PredictionCache(
        max_entries=2, ttl_s=10, on_evict=lambda m, r: evicted.append((m, r)), clock=lambda: now[0]
    )
    for i in range(3):
        cache.put(f"id{i}", CachedPrediction("m", 1, (0,), "t", now[0]))
    assert cache.size("m") == 2
    assert evicted == [("m", "capacity")]
    assert cache.get("id0") == (None, False)
    now[0] = 11.0
    assert cache.get("id1") == (None, True)  # expired on read
    cache.put("id3", CachedPrediction("m", 1, (0,), "t", now[0]))  # id2 expires on write
    assert evicted == [("m", "capacity"), ("m", "ttl"), ("m", "ttl")]
    assert cache.size("m") == 1


def test_tenants_come_from_the_key_id_and_are_capped():
    tenants = TenantMap({key_id("k-acme"): "acme"})
    assert tenants.tenant({"authorization": "Bearer k-acme"}) == "acme"
    assert tenants.tenant({"x-api-key": "someone-else"}) == "other"
    assert tenants.tenant({}) == "anonymous"
    assert tenants.names == {"acme", "other", "anonymous"}
    with pytest.raises(ConfigFileError, match="at most 100"):
        TenantMap({f"{i:016x}": f"t{i}" for i in range(MAX_TENANTS + 1)})
    with pytest.raises(ConfigFileError, match="16 lower-case hex"):
        TenantMap({"not-a-key-id": "acme"})


def test_monitoring_file_is_read_and_bad_files_are_one_line_errors(tmp_path):
    path = tmp_path / "monitoring.yaml"
    path.write_text(
        f"tenants: {{'{key_id('k')}': acme}}\nevents: [conversion, click]\n"
        "predictions: {max_entries: 10, ttl_seconds: 60}\n"
        "models: {tumor: {threshold: 0.2, positive_class: 1}}\n"
    )
    config = load_monitoring(path)
    assert config.events == ("conversion", "click")
    assert config.max_entries == 10
    assert config.models["tumor"].threshold == 0.2
    assert config.models["tumor"].positive_class == 1
    path.write_text("events: ['Bad Name']\n")
    with pytest.raises(ConfigFileError, match=r"monitoring file .*events"):
        load_monitoring(path)
    path.write_text("predictions: {max_entries: 0}\n")
    with pytest.raises(ConfigFileError, match="positive"):
        load_monitoring(path)
    assert load_monitoring(None) == MonitoringConfig()


def _monitor(**config) -> tuple[Monitor, CollectorRegistry]:
    registry = CollectorRegistry()
    monitor = Monitor(MonitoringConfig(**config), MonitorMetrics.create(registry))
    route = ModelRoute("m", stable=1, weights=((1, 1.0),), shadow=2)
    monitor.configure({"m": _spec()}, RoutingTable({"m": route}))
    return monitor, registry


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_every_confusion_cell_of_routed_versions_starts_at_zero():
    _, registry = _monitor()
    for version in ("1", "2"):
        for predicted in "012":
            for actual in "012":
                labels = {"model": "m", "version": version, "predicted": predicted}
                assert registry.get_sample_value(
                    "latte_model_feedback_total", {**labels, "actual": actual}
                ) == 0.0  # fmt: skip


def test_feedback_joins_labels_to_answers_and_refuses_the_rest():
    monitor, registry = _monitor()
    monitor.observe("r1", {}, "m", 1, _json_answer([[0.1, 0.8, 0.1], [0.9, 0.05, 0.05]]))
    assert record_feedback(monitor, {"id": "r1", "label": [1, 2]}).status == 200
    cell = {"model": "m", "version": "1"}
    assert _value(registry, "latte_model_feedback_total", **cell, predicted="1", actual="1") == 1
    assert _value(registry, "latte_model_feedback_total", **cell, predicted="0", actual="2") == 1
    assert _value(registry, "latte_model_predictions_total", **cell, **{"class": "1"}) == 1
    assert _value(registry, "latte_model_confidence_count", **cell) == 2
    assert _value(registry, "latte_model_feedback_delay_seconds_count", model="m") == 1
    refusals = {
        "duplicate": ({"id": "r1", "label": [1, 2]}, 409),
        "unknown_id": ({"id": "nope", "label": 1}, 404),
        "unknown_model": ({"id": "r1", "label": 1, "model": "zzz"}, 404),
        "invalid": ({"label": 1}, 400),
    }
    for reason, (item, status) in refusals.items():
        outcome = record_feedback(monitor, item)
        assert (outcome.status, outcome.reason) == (status, reason), outcome
    monitor.observe("r2", {}, "m", 1, _json_answer([[0.1, 0.8, 0.1]]))
    for label in ("1", 1.0, True, 3, -1, [1, 1], None):
        outcome = record_feedback(monitor, {"id": "r2", "label": label})
        assert (outcome.status, outcome.reason) == (400, "invalid_label"), label
    unmatched = {"model": "m", "reason": "invalid_label"}
    assert _value(registry, "latte_model_feedback_unmatched_total", **unmatched) == 7


def test_events_count_for_the_tenant_and_version_that_answered():
    monitor, registry = _monitor(tenants={key_id("k"): "acme"}, events=("conversion",))
    monitor.observe("r1", {"x-api-key": "k"}, "m", 2, _json_answer([[0.1, 0.8, 0.1]]))
    assert record_event(monitor, {"id": "r1", "event": "conversion"}).status == 200
    labels = {"tenant": "acme", "event": "conversion", "model": "m", "version": "2"}
    assert _value(registry, "latte_business_events_total", **labels) == 1
    assert record_event(monitor, {"id": "r1", "event": "conversion"}).status == 409
    assert record_event(monitor, {"id": "r1", "event": "click"}).reason == "unknown_event"
    assert record_event(monitor, {"id": "r1", "event": "conversion", "model": "x"}).status == 404
    assert record_event(monitor, {"id": "gone", "event": "conversion"}).reason == "unknown_id"
    assert _value(registry, "latte_business_events_dropped_total", reason="unknown_event") == 1
    acme = {"tenant": "acme", "model": "m", "code": "200"}
    assert _value(registry, "latte_tenant_requests_total", **acme) == 1


def test_shadow_agreement_compares_rows_in_either_arrival_order():
    monitor, registry = _monitor()
    answer, other = _json_answer([[0.9, 0.1, 0.0]]), _json_answer([[0.1, 0.9, 0.0]])
    monitor.observe_shadow("a", "m", 2, answer)  # shadow first
    monitor.observe("a", {}, "m", 1, answer)
    monitor.observe("b", {}, "m", 1, answer)  # answer first
    monitor.observe_shadow("b", "m", 2, other)
    agree = {"model": "m", "version": "2"}
    assert _value(registry, "latte_shadow_agreement_total", **agree, agree="true") == 1
    assert _value(registry, "latte_shadow_agreement_total", **agree, agree="false") == 1


def test_failures_are_counted_per_tenant_without_unknown_model_names():
    monitor, registry = _monitor()
    monitor.observe_failure({}, "no-such-model-" + "x" * 50, 404)
    monitor.observe_failure({}, "m", 400)
    name = "latte_tenant_requests_total"
    assert _value(registry, name, tenant="anonymous", model="other", code="404") == 1
    assert _value(registry, name, tenant="anonymous", model="m", code="400") == 1


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def test_100k_bogus_ids_and_distinct_answers_keep_memory_and_series_bounded():
    monitor, registry = _monitor(max_entries=1000)
    answer = _json_answer([[0.1, 0.8, 0.1]])
    for i in range(2000):  # warm-up: the cache reaches its cap
        monitor.observe(f"warm-{i}", {"x-api-key": f"key-{i}"}, "m", 1, answer)
    before = _rss_mb()
    for i in range(100_000):
        record_feedback(monitor, {"id": f"bogus-{i}-" + "x" * 100, "label": 1})
        record_event(monitor, {"id": f"bogus-{i}", "event": "conversion"})
        monitor.observe(f"answer-{i}", {"x-api-key": f"tenant-flood-{i}"}, "m", 1, answer)
    grown = _rss_mb() - before
    assert grown < 20, f"RSS grew {grown:.1f} MB over 100k bogus ids"
    assert monitor.cache.size("m") == 1000
    evictions = {"model": "m", "reason": "capacity"}
    assert _value(registry, "latte_prediction_cache_evictions_total", **evictions) == 101_000
    unmatched = {"model": "other", "reason": "unknown_id"}
    assert _value(registry, "latte_model_feedback_unmatched_total", **unmatched) == 100_000
    series = sum(len(metric.samples) for metric in registry.collect())
    assert series < 400, series  # every tenant of the flood is "other"


def test_confidence_histogram_is_cumulative_with_sum_and_count():
    monitor, registry = _monitor()
    monitor.observe("r1", {}, "m", 1, _json_answer([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]]))
    cell = {"model": "m", "version": "1"}
    buckets = {
        le: _value(registry, "latte_model_confidence_bucket", **cell, le=le)
        for le in ("0.5", "0.6", "0.7", "1.0", "+Inf")
    }
    assert buckets == {"0.5": 1, "0.6": 1, "0.7": 2, "1.0": 2, "+Inf": 2}
    assert _value(registry, "latte_model_confidence_sum", **cell) == pytest.approx(1.2)
    assert _value(registry, "latte_model_confidence_count", **cell) == 2
    assert _value(registry, "latte_model_predictions_total", **cell, **{"class": "2"}) == 0
