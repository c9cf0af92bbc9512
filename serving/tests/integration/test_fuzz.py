"""Fuzzing the gateway: schemathesis over its OpenAPI, plus hand-made malformed bodies.

Every answer must be below 500, carry {"error": ...} when it is a 4xx, and the server must
keep serving afterwards.
"""

from __future__ import annotations

import json
import struct

import httpx
import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

GOOD = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32).tobytes()


def test_no_generated_request_gets_a_5xx(local_gateway):
    base_url = f"http://{local_gateway.url}"
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # health x2, /v2, metrics, admin x2, 4 model routes x2, repository index + load/unload,
    # feedback, events
    assert len(operations) == 19

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            response = case.call(base_url=base_url)
            assert response.status_code < 500, (case.method, case.path, response.text)
            if 400 <= response.status_code < 500:
                assert "error" in response.json()

        check()


def _binary(header: dict, payload: bytes, length: int | None = None) -> tuple[bytes, dict]:
    text = json.dumps(header).encode()
    declared = len(text) if length is None else length
    return text + payload, {"Inference-Header-Content-Length": str(declared)}


def _input(size: int | str | None, shape=(1, 4), datatype="FP32", **extra) -> dict:
    parameters = {} if size is None else {"binary_data_size": size}
    item = {"name": "INPUT__0", "datatype": datatype, "shape": list(shape)}
    item["parameters"] = parameters
    item.update(extra)
    return {"inputs": [item]}


MALFORMED = {
    "header length longer than body": _binary(_input(16), GOOD, length=10_000),
    "header length cuts the JSON": _binary(_input(16), GOOD, length=5),
    "header length not a number": (
        _binary(_input(16), GOOD)[0], {"Inference-Header-Content-Length": "12abc"}
    ),
    "negative header length": (b"{}", {"Inference-Header-Content-Length": "-4"}),
    "binary size bigger than the data": _binary(_input(32), GOOD),
    "binary size smaller than the data": _binary(_input(8), GOOD),
    "binary size not an integer": _binary(_input("16"), GOOD),
    "binary size negative": _binary(_input(-16), GOOD),
    "trailing garbage after the tensors": _binary(_input(16), GOOD + b"\x00" * 7),
    "wrong datatype": _binary(_input(16, datatype="INT32"), GOOD),
    "wrong shape": _binary(_input(16, shape=(2, 2)), GOOD),
    "batch over max_batch_size": _binary(_input(16 * 9, shape=(9, 4)), GOOD * 9),
    "zero batch": _binary(_input(0, shape=(0, 4)), b""),
    "header is not JSON": (b"\xff\xfe" + GOOD, {"Inference-Header-Content-Length": "2"}),
    "header is a JSON list": _binary([1, 2], GOOD),  # type: ignore[arg-type]
    "unknown input name": _binary({"inputs": [{"name": "nope", "datatype": "FP32",
                                               "shape": [1, 4]}]}, b""),
    "inputs missing": (b'{"outputs": []}', {}),
    "json data of the wrong length": (json.dumps(_input(None, data=[1, 2, 3])).encode(), {}),
    "json data with strings": (json.dumps(_input(None, data=["a", "b", "c", "d"])).encode(), {}),
    "json data with nested garbage": (
        json.dumps(_input(None, data=[[1, [2]], {"x": 3}])).encode(), {}
    ),
    "deeply nested JSON": (b"[" * 100_000 + b"]" * 100_000, {}),
    "parameters not an object": _binary(_input(16) | {"parameters": [1]}, GOOD),
    "input parameters not an object": _binary(
        {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4],
                     "parameters": "x"}]}, GOOD
    ),
    "unknown output": _binary(_input(16) | {"outputs": [{"name": "nope"}]}, GOOD),
    "output name not a string": _binary(_input(16) | {"outputs": [{"name": ["x"]}]}, GOOD),
    "input given twice": _binary(
        {"inputs": [_input(16)["inputs"][0], _input(16)["inputs"][0]]}, GOOD + GOOD
    ),
    "input name not a string": (json.dumps({"inputs": [{"name": {"a": 1}}]}).encode(), {}),
    "output parameters not an object": _binary(
        _input(16) | {"outputs": [{"name": "OUTPUT__0", "parameters": 3}]}, GOOD
    ),
    "shape with a float": _binary(_input(16, shape=(1.0, 4)), GOOD),
    "shape with a bool": _binary(_input(16, shape=(True, 4)), GOOD),
    "empty body": (b"", {}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_bodies_get_a_named_4xx(local_gateway, case):
    body, headers = MALFORMED[case]
    with httpx.Client(base_url=f"http://{local_gateway.url}") as client:
        response = client.post("/v2/models/tiny/infer", content=body, headers=headers)
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["error"]
        # the server keeps serving
        ok = client.post("/v2/models/tiny/versions/1/infer", content=_binary(_input(16), GOOD)[0],
                         headers=_binary(_input(16), GOOD)[1])  # fmt: skip
        assert ok.status_code == 200, ok.text


def test_body_over_the_limit_is_refused_before_reading(serve_gateway):
    server = serve_gateway(max_body_bytes=1024, backend="local")
    with httpx.Client(base_url=f"http://{server.url}") as client:
        response = client.post("/v2/models/tiny/infer", content=b"x" * 4096)
        assert response.status_code == 413
        assert "exceeds the limit of 1024" in response.json()["error"]

        def chunks():
            yield b"x" * 800
            yield b"x" * 800

        chunked = client.post("/v2/models/tiny/infer", content=chunks())
        assert chunked.status_code == 413


def test_unknown_paths_and_versions_are_json_errors(local_gateway):
    with httpx.Client(base_url=f"http://{local_gateway.url}") as client:
        missing = client.get("/v3/nothing")
        assert missing.status_code == 404
        assert "error" in missing.json()
        version = client.get("/v2/models/tiny/versions/9")
        assert version.status_code == 404
        assert "no version '9'" in version.json()["error"]
        bad = client.get("/v2/models/tiny/versions/x1/config")
        assert bad.status_code == 404
        assert struct.calcsize("i") == 4  # sanity: the binary sizes above assume 4-byte FP32
