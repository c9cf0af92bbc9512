"""Traffic routing through a real gateway: weights, sticky keys, fallback, shadow.

Every request here is real HTTP to uvicorn; the canary failures come from a real model
(tiny v3 fails inside ONNX Runtime / Triton on every run), not from a mock.
"""

from __future__ import annotations

import collections

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

BODY = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}
# tiny vN multiplies by N, so the first output value tells which version computed it
FIRST_VALUE = {1: 6.0, 2: 12.0, 4: 24.0}


def _routing(tmp_path, text: str):
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    return path


def _post(client: httpx.Client, headers=None) -> tuple[int, httpx.Response]:
    response = client.post("/v2/models/tiny/infer", json=BODY, headers=headers or {})
    assert response.status_code == 200, response.text
    version = int(response.headers["x-latte-model-version"])
    body = response.json()
    assert body["model_version"] == str(version)
    assert body["outputs"][0]["data"][0] == pytest.approx(FIRST_VALUE[version])
    return version, response


def _metric(client: httpx.Client, prefix: str) -> float:
    lines = client.get("/metrics").text.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


def test_three_versions_share_traffic_by_weight_over_1000_requests(serve_gateway, tmp_path):
    routing = _routing(tmp_path, "models:\n  tiny: {stable: 1, weights: {1: 50, 2: 30, 4: 20}}\n")
    server = serve_gateway(routing_file=routing, local_dynamic_batching=False)
    with httpx.Client(base_url=f"http://{server.url}") as client:
        counts = collections.Counter(_post(client)[0] for _ in range(1000))
    # tolerance: +-6 percentage points, 3.8 standard deviations of a binomial at n=1000
    # (about one false alarm in 10,000 runs)
    assert abs(counts[1] / 1000 - 0.5) < 0.06, counts
    assert abs(counts[2] / 1000 - 0.3) < 0.06, counts
    assert abs(counts[4] / 1000 - 0.2) < 0.06, counts


def test_sticky_keys_never_switch_version(serve_gateway, tmp_path):
    routing = _routing(tmp_path, "models:\n  tiny: {stable: 1, weights: {1: 50, 2: 50}}\n")
    server = serve_gateway(routing_file=routing, local_dynamic_batching=False)
    seen: dict[str, set[int]] = collections.defaultdict(set)
    with httpx.Client(base_url=f"http://{server.url}") as client:
        for round_ in range(4):
            for user in range(60):
                version, _ = _post(client, {"x-latte-route-key": f"user-{user}"})
                seen[f"user-{user}"].add(version)
            assert round_ >= 0
    assert all(len(versions) == 1 for versions in seen.values()), seen
    assert {next(iter(v)) for v in seen.values()} == {1, 2}  # keys do spread over versions


def test_failing_canary_costs_the_user_nothing(serve_gateway, tmp_path):
    routing = _routing(tmp_path, "models:\n  tiny: {stable: 1, weights: {1: 50, 3: 50}}\n")
    server = serve_gateway(routing_file=routing, local_dynamic_batching=False)
    with httpx.Client(base_url=f"http://{server.url}") as client:
        versions = [_post(client)[0] for _ in range(100)]
        fallbacks = _metric(client, 'latte_gateway_fallbacks_total{from_version="3"')
        direct = client.post("/v2/models/tiny/versions/3/infer", json=BODY)
    assert set(versions) == {1}
    assert 25 <= fallbacks <= 75  # about half were sent to the canary first
    assert direct.status_code == 502  # asked for by version: no fallback, a clear error
    assert "onnxruntime failed" in direct.json()["error"]


def test_slow_canary_times_out_and_stable_answers(serve_gateway, tmp_path):
    routing = _routing(
        tmp_path, "models:\n  tiny: {stable: 1, weights: {2: 1}, canary_timeout_ms: 0.001}\n"
    )
    server = serve_gateway(routing_file=routing)  # v2 waits for its batch: always too slow
    with httpx.Client(base_url=f"http://{server.url}") as client:
        assert {_post(client)[0] for _ in range(5)} == {1}
        assert _metric(client, 'latte_gateway_fallbacks_total{from_version="2"') == 5


def test_shadow_gets_a_copy_whose_answer_is_recorded_not_returned(serve_gateway, tmp_path):
    routing = _routing(tmp_path, "models:\n  tiny: {stable: 1, weights: {1: 1}, shadow: 2}\n")
    server = serve_gateway(routing_file=routing, local_dynamic_batching=False)
    with httpx.Client(base_url=f"http://{server.url}") as client:
        assert {_post(client)[0] for _ in range(20)} == {1}
        records = []
        for _ in range(50):  # shadow calls finish in the background
            records = client.get("/admin/shadow").json()["records"]
            if len(records) == 20:
                break
        shadow_requests = _metric(
            client, 'latte_gateway_requests_total{code="200",model="tiny",route="shadow"'
        )
    assert len(records) == 20
    assert all(r["version"] == 2 and r["answered_by"] == 1 and r["ok"] for r in records)
    assert shadow_requests == 20


def test_failing_canary_on_triton_falls_back(triton_server, serve_gateway, tmp_path):
    routing = _routing(tmp_path, "models:\n  tiny: {stable: 2, weights: {2: 1, 3: 1}}\n")
    server = serve_gateway(routing_file=routing, triton_url=triton_server.http_url)
    with httpx.Client(base_url=f"http://{server.url}") as client:
        assert {_post(client)[0] for _ in range(30)} == {2}
        assert _metric(client, 'latte_gateway_fallbacks_total{from_version="3"') > 0
        assert _metric(client, 'latte_gateway_errors_total{model="tiny",reason="backend_500"') > 0


def test_each_answer_names_the_pinned_digest_of_the_version_that_served(serve_gateway, tmp_path):
    one, two = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    routing = _routing(
        tmp_path,
        f"models:\n  tiny: {{stable: 1, weights: {{1: 50, 2: 50}}, "
        f"digests: {{1: '{one}', 2: '{two}'}}}}\n",
    )
    server = serve_gateway(routing_file=routing, local_dynamic_batching=False)
    seen = set()
    with httpx.Client(base_url=f"http://{server.url}") as client:
        for _ in range(40):
            version, response = _post(client)
            seen.add((version, response.headers["x-latte-model-digest"]))
        direct = client.post("/v2/models/tiny/versions/4/infer", json=BODY)
    assert seen == {(1, one), (2, two)}
    assert direct.status_code == 200
    assert "x-latte-model-digest" not in direct.headers
