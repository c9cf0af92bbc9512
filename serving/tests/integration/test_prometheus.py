"""On the real stack: a real Prometheus scrapes a real gateway (and a real Triton) with the
chart's rule files; traffic, feedback and events go through the gateway's HTTP API, and the
recorded quality comes back through Prometheus' HTTP API equal to scikit-learn's numbers on
the same labels, with the arguments models/src/latte_models/_common/evaluate.py uses."""

from __future__ import annotations

import shutil

import httpx
import numpy as np
import pytest
from serving_models import BINARY_CONFIG, TINY_CONFIG, binary_model, matmul_model
from serving_prometheus import RULES, TRITON_METRICS, PrometheusProcess
from serving_servers import ServerThread
from sklearn import metrics as skm

from latte_serving.app import create_app
from latte_serving.settings import GatewaySettings
from latte_serving.tenants import key_id

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="prometheus not installed (Debian package 'prometheus'; .ci/run installs it): "
        "not run",
    ),
]

RULE_FILES = [RULES / "quality.yaml", RULES / "gateway.yaml"]
ROWS = 240


@pytest.fixture
def stack(tmp_path):
    repository = tmp_path / "models"
    for version in (1, 2, 4):
        matmul_model(repository / "tiny" / str(version) / "model.onnx", float(version))
    (repository / "tiny" / "config.pbtxt").write_text(TINY_CONFIG.replace("KIND_GPU", "KIND_CPU"))
    binary_model(repository / "binary" / "1" / "model.onnx")
    (repository / "binary" / "config.pbtxt").write_text(BINARY_CONFIG)
    routing = tmp_path / "routing.yaml"
    routing.write_text("models:\n  tiny: {stable: 1, weights: {1: 50, 2: 50}, shadow: 4}\n")
    monitoring = tmp_path / "monitoring.yaml"
    monitoring.write_text(
        f"tenants: {{'{key_id('k-acme')}': acme}}\nevents: [conversion]\n"
        "models: {binary: {threshold: 0.3, positive_class: 1}}\n"
    )
    settings = GatewaySettings(
        model_repository=repository,
        backend="local",
        routing_file=routing,
        monitoring_file=monitoring,
    )
    with ServerThread(create_app(settings)) as gateway:
        targets = {"gateway": gateway.url}
        with PrometheusProcess(tmp_path / "prometheus", targets, RULE_FILES) as prometheus:
            # the zero-initialised confusion cells must be scraped before any label arrives
            up = prometheus.wait_for('latte_model_feedback_total{model="binary"}')
            assert up, "Prometheus never scraped the gateway"
            yield gateway, prometheus


def _infer(client, model, rows, request_id, headers):
    name = "INPUT__0" if model == "tiny" else "features"
    body = {"inputs": [{"name": name, "datatype": "FP32", "shape": [1, 4], "data": rows}]}
    response = client.post(
        f"/v2/models/{model}/infer", json=body, headers={"x-request-id": request_id, **headers}
    )
    assert response.status_code == 200, response.text
    output = np.asarray(response.json()["outputs"][0]["data"], dtype=np.float64)
    return int(response.headers["x-latte-model-version"]), output


def _expected(y_true, y_pred, classes, positive=None):
    """latte_models' evaluate(): accuracy, macro over all classes, or the positive class."""
    labels = list(range(classes))
    scores = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "recall_macro": skm.recall_score(
            y_true, y_pred, average="macro", labels=labels, zero_division=0
        ),
        "f1_macro": skm.f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0),
    }
    if positive is not None:
        binary = {"average": "binary", "pos_label": positive, "zero_division": 0}
        scores["recall"] = skm.recall_score(y_true, y_pred, **binary)
        scores["f1"] = skm.f1_score(y_true, y_pred, **binary)
    return scores


def _quality(prometheus, model, expected_versions):
    def complete(result):
        versions = {r["metric"]["version"] for r in result}
        return versions == expected_versions

    # feedback lands in one scrape; the rules need one more evaluation after it
    result = prometheus.wait_for(
        f'latte_model_quality{{model="{model}", window="1h", metric="accuracy"}}', complete
    )
    assert complete(result), result
    values = {}
    for row in prometheus.query(f'latte_model_quality{{model="{model}", window="1h"}}'):
        values[(row["metric"]["version"], row["metric"]["metric"])] = float(row["value"][1])
    return values


def test_live_quality_read_back_through_prometheus_equals_scikit_learn(stack):
    gateway, prometheus = stack
    rng = np.random.default_rng(20261201)
    truth: dict[tuple[str, int], list[tuple[int, int]]] = {}
    feedback, events = [], []
    tenants = {"acme": {"x-api-key": "k-acme"}, "other": {"x-api-key": "k-x"}, "anonymous": {}}
    sent_by_tenant = dict.fromkeys(tenants, 0)
    with httpx.Client(base_url=f"http://{gateway.url}") as client:
        for i in range(ROWS):
            model = "tiny" if i % 2 else "binary"
            tenant = list(tenants)[i % 3]
            rows = rng.normal(size=4).round(3).tolist()
            version, output = _infer(client, model, rows, f"req-{i}", tenants[tenant])
            sent_by_tenant[tenant] += 1
            predicted = int(output.argmax()) if model == "tiny" else int(output[0] >= 0.3)
            classes = 3 if model == "tiny" else 2
            # labels agree with the answer 70% of the time, else a random class
            label = predicted if rng.random() < 0.7 else int(rng.integers(classes))
            truth.setdefault((model, version), []).append((label, predicted))
            feedback.append({"id": f"req-{i}", "label": label})
            if i % 4 == 1:
                events.append({"id": f"req-{i}", "event": "conversion"})
        bogus = [{"id": f"nobody-{i}", "label": 0} for i in range(25)]
        answer = client.post("/v2/feedback", json={"feedback": feedback + bogus}).json()
        assert answer["recorded"] == ROWS
        assert {r["reason"] for r in answer["rejected"]} == {"unknown_id"}
        assert client.post("/v2/events", json={"events": events}).json()["recorded"] == len(events)

    for model, classes, positive in (("tiny", 3, None), ("binary", 2, 1)):
        versions = {str(v) for m, v in truth if m == model}
        got = _quality(prometheus, model, versions)
        for (m, version), pairs in truth.items():
            if m != model:
                continue
            y_true, y_pred = (np.array(side) for side in zip(*pairs, strict=True))
            for metric, value in _expected(y_true, y_pred, classes, positive).items():
                assert got[(str(version), metric)] == pytest.approx(value, rel=1e-12), metric
        names = {metric for _, metric in got}
        assert names == (
            {"accuracy", "recall_macro", "f1_macro"} | ({"recall", "f1"} if positive else set())
        )

    unmatched = prometheus.query('sum(latte_model_feedback_unmatched_total{reason="unknown_id"})')
    assert float(unmatched[0]["value"][1]) == 25
    by_tenant = prometheus.query('sum by (tenant) (latte_tenant_requests_total{code="200"})')
    assert {r["metric"]["tenant"]: float(r["value"][1]) for r in by_tenant} == sent_by_tenant
    converted = prometheus.query("sum by (model, version) (latte_business_events_total)")
    assert sum(float(r["value"][1]) for r in converted) == len(events)
    ratio = prometheus.wait_for("latte:business_conversion_ratio:rate1h")
    assert {r["metric"]["model"] for r in ratio} == {"tiny"}  # every 4th request is tiny
    agreement = prometheus.query('sum(latte_shadow_agreement_total{model="tiny", version="4"})')
    assert float(agreement[0]["value"][1]) > 0
    memory = prometheus.query('process_resident_memory_bytes{job="gateway"}')
    assert float(memory[0]["value"][1]) > 10e6


def test_prometheus_scrapes_triton_metrics_port_and_records_queue_vs_compute(
    triton_server, model_repository, routing_file, tmp_path
):
    settings = GatewaySettings(
        model_repository=model_repository,
        backend="triton",
        triton_url=triton_server.http_url,
        routing_file=routing_file,
    )
    with ServerThread(create_app(settings)) as gateway:
        metrics_target = triton_server.metrics_url.removeprefix("http://").removesuffix("/metrics")
        targets = {"gateway": gateway.url, "triton": metrics_target}
        with PrometheusProcess(tmp_path / "prometheus", targets, RULE_FILES) as prometheus:
            prometheus.wait_for('up{job="triton"} == 1')
            body = {
                "inputs": [
                    {"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}
                ]
            }
            with httpx.Client(base_url=f"http://{gateway.url}") as client:
                for _ in range(20):
                    assert client.post("/v2/models/tiny/infer", json=body).status_code == 200
                # a counter born at 20 has no increase until a later sample: scrape it first
                assert prometheus.wait_for('latte_gateway_requests_total{model="tiny"}')
                for _ in range(20):
                    assert client.post("/v2/models/tiny/infer", json=body).status_code == 200
            queue = prometheus.wait_for('latte:triton_queue_ms_per_request:rate5m{model="tiny"}')
            compute = prometheus.wait_for(
                'latte:triton_compute_ms_per_request:rate5m{model="tiny"}'
            )
            assert queue
            assert compute
            for name in TRITON_METRICS:  # what the rules and the dashboard read exists
                assert prometheus.query(f'{name}{{job="triton", model="tiny"}}'), name
            assert all(float(r["value"][1]) >= 0 for r in queue + compute)
            requests = prometheus.wait_for('sum(latte:gateway_requests:rate5m{model="tiny"}) > 0')
            assert requests, "no gateway request rate recorded"
