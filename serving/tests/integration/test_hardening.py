"""Malformed and hostile input against real gateways on both backends (local and real Triton).

Goal: zero 5xx from the gateway; limits answered with 431/413/408; the oversized-shape
request never reaches Triton; Triton's 4xx stay 4xx and fail no canary.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
import urllib.parse

import httpx
import numpy as np
import pytest
import tritonclient.http as httpclient
from fuzz_strategies import INTEGERISH, UNICODE_DIGITS, header_value, infer_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tritonclient.utils import InferenceServerException

from latte_serving.settings import hash_api_key

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

FUZZ = settings(max_examples=100, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))  # fmt: skip
BODY = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}


@pytest.fixture(params=["local", "triton"])
def gateway(request):
    return request.getfixturevalue(f"{request.param}_gateway")


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]


def test_fuzzed_infer_bodies_never_get_a_5xx(gateway):
    with httpx.Client(base_url=f"http://{gateway.url}", timeout=30) as client:

        @given(case=infer_request(), model=st.sampled_from(["tiny", "wide"]))
        @FUZZ
        def check(case, model):
            body, headers = case
            name = "X" if model == "wide" else "INPUT__0"
            body = body.replace(b'"INPUT__0"', f'"{name}"'.encode(), 1)
            _check(client.post(f"/v2/models/{model}/infer", content=body, headers=headers))

        check()
        assert client.post("/v2/models/tiny/infer", json=BODY).status_code == 200


def test_fuzzed_versions_and_headers_never_get_a_5xx(gateway):
    with httpx.Client(base_url=f"http://{gateway.url}", timeout=30) as client:

        @given(version=INTEGERISH, route=st.sampled_from(["", "/ready", "/config", "/infer"]))
        @FUZZ
        def check(version, route):
            path = f"/v2/models/tiny/versions/{urllib.parse.quote(version, safe='')}{route}"
            response = client.post(path, json=BODY) if route == "/infer" else client.get(path)
            _check(response)

        check()

        @given(length=INTEGERISH)
        @FUZZ
        def header(length):
            headers = {"Inference-Header-Content-Length": header_value(length)}
            _check(client.post("/v2/models/tiny/infer", json=BODY, headers=headers))

        header()


@pytest.mark.parametrize("digit", ["²", "①", "\u0661"])  # superscript, circled, Arabic-Indic
def test_unicode_digits_are_4xx_everywhere(gateway, digit):
    with httpx.Client(base_url=f"http://{gateway.url}") as client:
        for path in ("", "/ready", "/config"):
            response = client.get(f"/v2/models/tiny/versions/{digit}{path}")
            assert response.status_code == 404, response.text
        response = client.post(f"/v2/models/tiny/versions/{digit}/infer", json=BODY)
        assert response.status_code == 404
        text = json.dumps(BODY).encode()
        headers = {"Inference-Header-Content-Length": f"{len(text)}{digit}".encode()}
        assert (
            client.post("/v2/models/tiny/infer", content=text, headers=headers).status_code == 400
        )


def test_huge_integers_and_constants_anywhere_in_json_are_400(gateway):
    bodies = [
        b'{"inputs": [], "x": ' + b"7" * 5000 + b"}",
        b'{"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, '
        + b"4" * 4400
        + b'], "data": [1]}]}',
        b'{"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4], '
        b'"data": [NaN, Infinity, 1, 2]}]}',
    ]
    with httpx.Client(base_url=f"http://{gateway.url}") as client:
        for body in bodies:
            response = client.post("/v2/models/tiny/infer", content=body)
            assert response.status_code == 400, response.text
            assert len(response.text) < 500


def _wide_stats(triton) -> tuple[int, int]:
    stats = httpx.get(f"http://{triton.http_url}/v2/models/wide/stats").json()
    inference = stats["model_stats"][0]["inference_stats"]
    return int(inference["success"]["count"]), int(inference["fail"]["count"])


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS"))


def test_oversized_shape_is_refused_before_triton_sees_it(triton_gateway, triton_server):
    """The ~100-byte request that grew Triton to 8 GB: refused by the gateway, Triton idle."""
    before, rss = _wide_stats(triton_server), _rss_kib(triton_server.pid)
    header = {"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 2147483648]}]}
    json_case = {"inputs": [{**header["inputs"][0], "data": [1.0]}]}
    binary = json.dumps({"inputs": [{**header["inputs"][0],
                                     "parameters": {"binary_data_size": 4}}]}).encode()  # fmt: skip
    with httpx.Client(base_url=f"http://{triton_gateway.url}") as client:
        refused = [
            client.post("/v2/models/wide/infer", json=json_case),
            client.post("/v2/models/wide/infer", content=binary + b"\0\0\x80?",
                        headers={"Inference-Header-Content-Length": str(len(binary))}),
        ]  # fmt: skip
        assert [r.status_code for r in refused] == [400, 400], [r.text for r in refused]
        assert "2147483648" in refused[0].json()["error"]
        ok = {"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]}
        answer = client.post("/v2/models/wide/infer", json=ok)
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"][0]["data"] == [2.0, 4.0, 6.0]
    success, fail = _wide_stats(triton_server)
    # Triton saw exactly the one valid request (so these stats are live), none of the others
    assert (success - before[0], fail - before[1]) == (1, 0)
    assert _rss_kib(triton_server.pid) - rss < 64 * 1024  # KiB: no gigabyte allocation


def _metric(client: httpx.Client, prefix: str) -> float:
    lines = client.get("/metrics").text.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


def test_triton_4xx_passes_through_and_fails_no_canary(
    triton_server, model_repository, serve_gateway, tmp_path
):
    # the gateway's copy of the config allows batches of 16, the Triton it fronts only 8:
    # a batch of 12 passes the gateway's checks and Triton refuses it with a 400
    copy = tmp_path / "repository"
    shutil.copytree(model_repository, copy)
    config = copy / "tiny" / "config.pbtxt"
    config.write_text(config.read_text().replace("max_batch_size: 8", "max_batch_size: 16"))
    routing = tmp_path / "routing.yaml"
    routing.write_text("models:\n  tiny: {stable: 2, weights: {2: 1, 4: 1}}\n")
    server = serve_gateway(
        model_repository=copy, routing_file=routing, triton_url=triton_server.http_url
    )
    batch = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [12, 4],
                         "data": [1.0] * 48}]}  # fmt: skip
    with httpx.Client(base_url=f"http://{server.url}") as client:
        answers = [client.post("/v2/models/tiny/infer", json=batch) for _ in range(20)]
        assert {a.status_code for a in answers} == {400}, answers[0].text
        assert "triton rejected" in answers[0].json()["error"]
        assert _metric(client, "latte_gateway_fallbacks_total{") == 0
        assert _metric(client, "latte_gateway_errors_total{") == 0
        assert _metric(client, 'latte_gateway_requests_total{code="400"') == 20
        canary = 'latte_gateway_requests_total{code="400",model="tiny",route="canary"'
        assert _metric(client, canary) > 0


def test_repository_index_and_refused_model_control(gateway):
    client = httpclient.InferenceServerClient(gateway.url)
    try:
        index = client.get_model_repository_index()
        listed = {(entry["name"], entry["version"], entry["state"]) for entry in index}
        assert ("tiny", "1", "READY") in listed
        assert ("tiny", "2", "READY") in listed
        assert all(state == "READY" for _, _, state in listed)
        with pytest.raises(InferenceServerException, match="model control is disabled"):
            client.load_model("tiny")
        with pytest.raises(InferenceServerException, match="model control is disabled"):
            client.unload_model("tiny")
    finally:
        client.close()
    assert httpx.post(f"http://{gateway.url}/v2/repository/models/tiny/unload").status_code == 403


def _raw(port: int, payload: bytes, *, wait: float = 0.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(payload)
        time.sleep(wait)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_huge_headers_get_431_before_the_key_check(serve_gateway):
    server = serve_gateway(backend="local", api_key_hashes=(hash_api_key("k"),),
                           max_header_bytes=16 * 1024)  # fmt: skip
    rss = _rss_kib(os.getpid())
    for _ in range(4):
        head = b"GET /v2/models/tiny HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * (8 * 1024 * 1024)
        answer = _raw(server.port, head)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert _rss_kib(os.getpid()) - rss < 32 * 1024  # KiB: 32 MiB of headers were never held
    with httpx.Client(base_url=f"http://{server.url}") as client:
        many = {f"x-h{i}": "v" * 100 for i in range(200)}
        assert client.get("/v2/health/live", headers=many).status_code == 431
        assert client.get("/v2/health/live").status_code == 200


def test_slow_heads_and_bodies_get_408(serve_gateway):
    server = serve_gateway(backend="local", header_timeout_s=0.5, body_timeout_s=0.5)
    slow_head = _raw(server.port, b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n", wait=1.0)
    assert slow_head.startswith(b"HTTP/1.1 408"), slow_head[:200]
    slow_body = _raw(
        server.port,
        b"POST /v2/models/tiny/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
        wait=1.0,
    )
    assert slow_body.startswith(b"HTTP/1.1 408"), slow_body[:200]


def test_body_over_the_limit_gets_413_not_a_reset(serve_gateway):
    server = serve_gateway(backend="local", max_body_bytes=1024 * 1024)
    with httpx.Client(base_url=f"http://{server.url}", timeout=30) as client:
        response = client.post("/v2/models/tiny/infer", content=b"x" * (20 * 1024 * 1024))
        assert response.status_code == 413
        assert client.post("/v2/models/tiny/infer", json=BODY).status_code == 200


def test_client_request_ids_are_bounded_in_the_shadow_log(serve_gateway, tmp_path):
    routing = tmp_path / "routing.yaml"
    routing.write_text("models:\n  tiny: {stable: 1, weights: {1: 1}, shadow: 2}\n")
    server = serve_gateway(routing_file=routing, local_dynamic_batching=False)
    body = {**BODY, "id": "i" * (2 * 1024 * 1024)}
    with httpx.Client(base_url=f"http://{server.url}", timeout=30) as client:
        for _ in range(3):
            assert client.post("/v2/models/tiny/infer", json=body).status_code == 200
        records = []
        for _ in range(50):
            records = client.get("/admin/shadow").json()["records"]
            if len(records) == 3:
                break
            time.sleep(0.05)
    assert len(records) == 3
    assert all(r["request_id"].startswith("sha256:") and len(r["request_id"]) < 64
               for r in records)  # fmt: skip


def test_routing_reload_applies_good_files_and_keeps_the_last_good_one(serve_gateway, tmp_path):
    routing = tmp_path / "routing.yaml"
    routing.write_text("models:\n  tiny: {stable: 1, weights: {1: 1}}\n")
    server = serve_gateway(routing_file=routing, routing_reload_s=0.1)

    def stable_after(text: str, expected: int, wait: float = 10) -> int:
        """Write ``text``, then poll until ``expected`` is served or ``wait`` s passed (a
        loaded machine may take several reload periods to notice the file)."""
        routing.write_text(text)
        os.utime(routing, (time.time() + 1, time.time() + 1))
        deadline = time.monotonic() + wait
        while True:
            time.sleep(0.3)
            answer = httpx.get(f"http://{server.url}/admin/routing").json()
            stable = answer["models"]["tiny"]["stable"]
            if stable == expected or time.monotonic() > deadline:
                return int(stable)

    # a refused file never changes what is served: polled 2 s (20 reload periods) for a change
    refused = (
        "models:\n  tiny: {stable: 1, weights: {1: .nan}}\n",
        "models:\n  tiny: {stable: 9, weights: {9: 1}}\n",
    )
    assert stable_after(refused[0], expected=-1, wait=2) == 1
    assert stable_after(refused[1], expected=9, wait=2) == 1
    assert stable_after("models:\n  tiny: {stable: 2, weights: {2: 1}}\n", expected=2) == 2
    with httpx.Client(base_url=f"http://{server.url}") as client:
        assert (
            client.post("/v2/models/tiny/infer", json=BODY).headers["x-latte-model-version"] == "2"
        )


def test_ready_answers_in_time_when_triton_hangs(serve_gateway):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts connections, never answers: a frozen Triton
    try:
        host, port = listener.getsockname()
        server = serve_gateway(triton_url=f"{host}:{port}", ready_timeout_s=0.5)
        with httpx.Client(base_url=f"http://{server.url}", timeout=10) as client:
            for path in ("/v2/health/ready", "/v2/models/tiny/ready",
                         "/v2/models/tiny/versions/1/ready"):  # fmt: skip
                started = time.monotonic()
                response = client.get(path)
                assert response.status_code == 503, response.text
                assert time.monotonic() - started < 3
    finally:
        listener.close()
    assert np.float32(1).itemsize == 4  # the byte counts above assume 4-byte FP32
    assert UNICODE_DIGITS  # (shared strategies imported for their side of the contract)
