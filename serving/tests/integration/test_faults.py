"""Game-day fault injection (LATTE_SERVING_FAULTS) through a real gateway over real HTTP.

The faulted version is tiny v2 on the local ONNX backend; v1 next to it shows that only the
named version suffers and that the metrics count what the fault did.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from latte_serving.app import create_app
from latte_serving.errors import ConfigFileError
from latte_serving.faults import Fault, parse_faults
from latte_serving.settings import GatewaySettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

BODY = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}


def _metric(client: httpx.Client, prefix: str) -> float:
    lines = client.get("/metrics").text.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


def _routing(tmp_path, weights: str):
    path = tmp_path / "routing.yaml"
    path.write_text(f"models:\n  tiny: {{stable: 1, weights: {weights}}}\n")
    return path


def test_errors_on_the_canary_fall_back_to_stable_and_count_as_errors(serve_gateway, tmp_path):
    server = serve_gateway(
        routing_file=_routing(tmp_path, "{1: 50, 2: 50}"),
        local_dynamic_batching=False,
        faults="tiny@2:errors=1",
    )
    with httpx.Client(base_url=f"http://{server.url}") as client:
        answers = [client.post("/v2/models/tiny/infer", json=BODY) for _ in range(100)]
        direct = client.post("/v2/models/tiny/versions/2/infer", json=BODY)
        v1 = client.post("/v2/models/tiny/versions/1/infer", json=BODY)
        failed = _metric(
            client,
            'latte_gateway_requests_total{code="503",model="tiny",route="canary",version="2"}',
        )
        injected = _metric(client, 'latte_gateway_errors_total{model="tiny",reason="injected"}')
        fallbacks = _metric(client, 'latte_gateway_fallbacks_total{from_version="2"')
        admin = client.get("/admin/routing").json()
    assert {a.status_code for a in answers} == {200}
    assert {a.headers["x-latte-model-version"] for a in answers} == {"1"}
    assert direct.status_code == 503
    assert "fault injected" in direct.json()["error"]
    assert v1.status_code == 200  # the other version is untouched
    assert 25 <= failed <= 75  # about half of the unkeyed requests went to the canary first
    assert fallbacks == failed
    assert injected == failed + 1  # + the direct call
    assert admin["faults"] == ["tiny@2:errors=1,delay_ms=0"]


def test_an_error_ratio_fails_about_that_share_of_calls(serve_gateway, tmp_path):
    server = serve_gateway(
        routing_file=_routing(tmp_path, "{1: 100}"),
        local_dynamic_batching=False,
        faults="tiny@2:errors=0.2",
    )
    with httpx.Client(base_url=f"http://{server.url}") as client:
        codes = [
            client.post("/v2/models/tiny/versions/2/infer", json=BODY).status_code
            for _ in range(500)
        ]
    # binomial n=500 p=0.2: sd 8.9; +-40 is 4.5 sd
    assert set(codes) == {200, 503}
    assert 60 <= codes.count(503) <= 140, codes.count(503)


def test_a_delay_slows_only_the_named_version_and_shows_in_the_histogram(serve_gateway, tmp_path):
    server = serve_gateway(
        routing_file=_routing(tmp_path, "{1: 100}"),
        local_dynamic_batching=False,
        faults="tiny@2:delay_ms=250",
    )
    with httpx.Client(base_url=f"http://{server.url}") as client:
        client.post("/v2/models/tiny/versions/1/infer", json=BODY)  # warm both sessions
        timings = {}
        for version in (1, 2):
            started = time.perf_counter()
            for _ in range(4):
                response = client.post(f"/v2/models/tiny/versions/{version}/infer", json=BODY)
                assert response.status_code == 200
            timings[version] = (time.perf_counter() - started) / 4
        slow = _metric(
            client,
            'latte_gateway_request_duration_seconds_bucket{le="0.25",model="tiny",route="direct",version="2"}',
        )
    assert timings[2] >= 0.25
    assert timings[1] < 0.2
    assert slow == 0  # every v2 call took longer than 250 ms, as measured by the gateway


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tiny", "expected MODEL@VERSION:errors=RATIO,delay_ms=MS"),
        ("tiny@0:errors=0.1", "expected MODEL@VERSION"),
        ("tiny@2:error=0.1", "unknown setting 'error=0.1'"),
        ("tiny@2:errors=1.5", "errors must be in [0, 1]"),
        ("tiny@2:errors=nan", "is not a number"),
        ("tiny@2:delay_ms=-3", "delay_ms must be in"),
        ("tiny@2:errors=0", "injects nothing"),
        ("tiny@2:errors=0.1,errors=0.2", "errors given twice"),
        ("tiny@2:errors=0.1;tiny@2:delay_ms=5", "names tiny@2 twice"),
    ],
)
def test_bad_specs_are_refused_naming_what_is_wrong(spec, message):
    with pytest.raises(ConfigFileError) as caught:
        parse_faults(spec)
    assert message in str(caught.value)
    with pytest.raises(ValueError, match="LATTE_SERVING_FAULTS"):
        GatewaySettings(faults=spec)


def test_the_spec_parses_several_entries_and_is_off_by_default():
    assert GatewaySettings().faults == ()
    assert parse_faults(" tiny@2:errors=0.1,delay_ms=50 ; iris@1:delay_ms=20 ;") == (
        Fault("tiny", 2, 0.1, 0.05),
        Fault("iris", 1, 0.0, 0.02),
    )


def test_a_fault_for_a_version_that_is_not_served_stops_startup(model_repository):
    settings = GatewaySettings(model_repository=model_repository, faults="tiny@9:errors=0.5")
    with pytest.raises(
        ConfigFileError, match=r"names tiny@9, which is not served; served: .*tiny@1"
    ):
        create_app(settings)


def test_serve_refuses_a_bad_spec_in_one_line(model_repository):
    env = {**os.environ, "LATTE_SERVING_FAULTS": "tiny@2:errors=lots"}
    done = subprocess.run(
        [sys.executable, "-m", "latte_serving", "serve",
         "--model-repository", str(model_repository)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "errors='lots' is not a number" in lines[0]
