"""Gateway as a service: API keys, health, metrics, JSON logs, graceful drain, Triton start."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import time

import httpx
import numpy as np
import pytest
import tritonclient.http as httpclient
from serving_models import write_repository
from serving_servers import ServerThread

from latte_serving._logging import JsonFormatter
from latte_serving.app import create_app
from latte_serving.errors import TritonStartError
from latte_serving.settings import GatewaySettings, hash_api_key
from latte_serving.triton import TritonProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

BODY = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}


def test_api_keys_guard_infer_and_admin_but_not_health(serve_gateway):
    server = serve_gateway(backend="local", api_key_hashes=(hash_api_key("s3cret"),))
    with httpx.Client(base_url=f"http://{server.url}") as client:
        assert client.get("/v2/health/live").status_code == 200
        assert client.get("/v2/health/ready").status_code == 200
        assert client.get("/metrics").status_code == 200
        refused = client.post("/v2/models/tiny/infer", json=BODY)
        assert refused.status_code == 401
        assert "API key" in refused.json()["error"]
        wrong = {"Authorization": "Bearer nope"}
        assert client.post("/v2/models/tiny/infer", json=BODY, headers=wrong).status_code == 401
        assert client.get("/admin/routing").status_code == 401
        good = {"Authorization": "Bearer s3cret"}
        assert client.post("/v2/models/tiny/infer", json=BODY, headers=good).status_code == 200
        routing = client.get("/admin/routing", headers={"X-API-Key": "s3cret"})
        assert routing.json()["models"]["tiny"]["stable"] == 4
    triton_client = httpclient.InferenceServerClient(server.url)
    try:
        item = httpclient.InferInput("INPUT__0", [1, 4], "FP32")
        item.set_data_from_numpy(np.ones((1, 4), np.float32))
        result = triton_client.infer("tiny", [item], headers={"Authorization": "Bearer s3cret"})
        assert result.as_numpy("OUTPUT__0").shape == (1, 3)
    finally:
        triton_client.close()


def test_metrics_follow_prometheus_conventions(local_gateway):
    with httpx.Client(base_url=f"http://{local_gateway.url}") as client:
        headers = {"x-request-id": "abc123"}
        response = client.post("/v2/models/tiny/infer", json=BODY, headers=headers)
        assert response.headers["x-request-id"] == "abc123"
        assert response.headers["x-latte-route"] in {"stable", "canary"}
        text = client.get("/metrics").text
    for name in (
        "latte_gateway_requests_total{",
        "latte_gateway_request_duration_seconds_bucket{",
        "latte_gateway_batch_size_bucket{",
        "latte_gateway_in_flight_requests ",
        "# TYPE latte_gateway_errors_total counter",
        "# TYPE latte_gateway_fallbacks_total counter",
    ):
        assert name in text


def test_log_lines_are_json_with_the_request_id():
    record = logging.makeLogRecord(
        {"name": "latte_serving.x", "levelname": "WARNING", "msg": "canary %s", "args": ("v2",)}
    )
    record.model = "tiny"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "canary v2"
    assert line["model"] == "tiny"
    assert line["level"] == "warning"
    assert "request_id" in line


def test_shutdown_drains_in_flight_requests(tmp_path):
    repository = write_repository(tmp_path / "repo")
    config = repository / "tiny" / "config.pbtxt"  # each batch waits 400 ms for company
    config.write_text(config.read_text().replace("2000", "400000"))
    app = create_app(GatewaySettings(model_repository=repository, backend="local"))
    in_flight = app.state.gateway.metrics.in_flight
    server = ServerThread(app).__enter__()
    with (
        httpx.Client(base_url=f"http://{server.url}", timeout=10) as client,
        concurrent.futures.ThreadPoolExecutor(4) as pool,
    ):
        url = "/v2/models/tiny/versions/1/infer"
        futures = [pool.submit(client.post, url, json=BODY) for _ in range(4)]
        deadline = time.monotonic() + 10
        while in_flight._value.get() < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.server.should_exit = True  # what SIGTERM does: stop accepting, then drain
        codes = [future.result().status_code for future in futures]
    server.thread.join(timeout=30)
    assert codes == [200, 200, 200, 200]
    assert not server.thread.is_alive()


def test_triton_that_cannot_load_fails_fast_with_its_log(tmp_path):
    model = tmp_path / "repo" / "bad"
    (model / "1").mkdir(parents=True)
    (model / "config.pbtxt").write_text('name: "bad"\nbackend: "nonexistent"\n')
    with (
        pytest.raises(TritonStartError, match="tritonserver exited"),
        TritonProcess(tmp_path / "repo", startup_timeout=60),
    ):
        pass
