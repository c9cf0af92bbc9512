"""The tfserving backend, protocol-level: a real gateway in front of a TF Serving REST double.

The double (tests/tfserving_double.py) is a real HTTP server implementing TF Serving's
documented routes with numpy-computed answers (tiny vN = x @ W * N, as the ONNX models of
serving_models.py); the models package runs the same translation on the real SavedModel.
The clients are ``tritonclient.http`` and httpx, unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys

import httpx
import numpy as np
import pytest
from fuzz_strategies import infer_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving_models import WEIGHTS
from serving_servers import ServerThread
from tfserving_double import ServedModel, TfServingDouble

from latte_contracts.ports import free_port
from latte_serving._discovery import discover_models
from latte_serving.app import create_app
from latte_serving.backends import TfServingBackend
from latte_serving.errors import ConfigFileError, ServingError
from latte_serving.repository import load_repository
from latte_serving.settings import GatewaySettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

TINY_IN = {"INPUT__0": ("DT_FLOAT", [-1, 4])}
TINY_OUT = {"OUTPUT__0": ("DT_FLOAT", [-1, 3])}
BODY = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}


def _tiny(scale: float) -> ServedModel:
    return ServedModel(
        TINY_IN, TINY_OUT, lambda x: {"OUTPUT__0": x["INPUT__0"] @ (WEIGHTS * scale)}
    )


def _broken(x):
    raise AssertionError("overridden")


@pytest.fixture(scope="module")
def double():
    models = {"tiny": {1: _tiny(1.0), 2: _tiny(2.0), 3: ServedModel(TINY_IN, TINY_OUT, _broken)}}
    with TfServingDouble(models) as server:
        yield server


@pytest.fixture(autouse=True)
def _failing_v3(double):
    """tiny v3 fails inside "TF Serving" with an error body, as a broken SavedModel would."""

    def override(name, version, body):
        if version == 3:
            return 500, {"error": "INTERNAL: Matrix size-incompatible: In[0]: [1,4]"}
        return None

    double.override = override
    for model in double.models["tiny"].values():
        model.state = "AVAILABLE"
    return


def _gateway(serve_gateway, double, tmp_path=None, routing=None, **overrides):
    settings = {
        "backend": "local",
        "tfserving_url": double.url,
        "model_runtimes": {"tiny": "tfserving"},
        "local_dynamic_batching": False,
    }
    if routing is not None:
        settings["routing_file"] = tmp_path / "routing.yaml"
        settings["routing_file"].write_text(routing)
    return serve_gateway(**{**settings, **overrides})


def _metric(client: httpx.Client, prefix: str) -> float:
    lines = client.get("/metrics").text.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_protocol_level_tritonclient_calls_a_tfserving_model_unchanged(
    serve_gateway, double, binary
):
    import tritonclient.http as httpclient

    server = _gateway(serve_gateway, double)
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    client = httpclient.InferenceServerClient(url=server.url)
    try:
        assert client.is_server_ready()
        assert client.is_model_ready("tiny", "2")
        metadata = client.get_model_metadata("tiny")
        assert metadata["platform"] == "tensorflow_savedmodel"
        assert metadata["versions"] == ["1", "2", "3"]
        assert metadata["inputs"] == [{"name": "INPUT__0", "datatype": "FP32", "shape": [-1, 4]}]
        request = httpclient.InferInput("INPUT__0", [3, 4], "FP32")
        request.set_data_from_numpy(x, binary_data=binary)
        wanted = [httpclient.InferRequestedOutput("OUTPUT__0", binary_data=binary)]
        for version, scale in (("1", 1.0), ("2", 2.0)):
            answer = client.infer("tiny", [request], model_version=version, outputs=wanted)
            np.testing.assert_allclose(
                answer.as_numpy("OUTPUT__0"), x @ (WEIGHTS * scale), rtol=1e-6
            )
            assert answer.get_response()["model_version"] == version
        # side by side: plain is served by ONNX Runtime in the same gateway
        plain = httpclient.InferInput("X", [2, 2], "INT64")
        plain.set_data_from_numpy(np.array([[1, 2], [3, 4]], dtype=np.int64), binary_data=binary)
        assert client.infer("plain", [plain]).as_numpy("Y").tolist() == [[2, 4], [6, 8]]
    finally:
        client.close()
    with httpx.Client(base_url=f"http://{server.url}") as http:
        assert http.get("/admin/routing").json()["backend"] == "local+tfserving"
        assert _metric(http, 'latte_gateway_requests_total{code="200",model="tiny"') == 2


def test_protocol_level_a_large_batch_is_translated_off_the_event_loop(serve_gateway, double):
    import tritonclient.http as httpclient

    server = _gateway(serve_gateway, double)
    x = np.random.default_rng(7).random((20_000, 4), dtype=np.float32)  # 80,000 elements
    client = httpclient.InferenceServerClient(url=server.url, network_timeout=60)
    try:
        request = httpclient.InferInput("INPUT__0", list(x.shape), "FP32")
        request.set_data_from_numpy(x)
        answer = client.infer("tiny", [request], model_version="2")
    finally:
        client.close()
    np.testing.assert_allclose(answer.as_numpy("OUTPUT__0"), x @ (WEIGHTS * 2), rtol=1e-6)


def test_protocol_level_a_failing_tfserving_canary_falls_back_to_stable(
    serve_gateway, double, tmp_path
):
    routing = "models:\n  tiny: {stable: 1, weights: {1: 0, 3: 100}}\n"
    server = _gateway(serve_gateway, double, tmp_path, routing)
    with httpx.Client(base_url=f"http://{server.url}") as client:
        for _ in range(5):
            response = client.post("/v2/models/tiny/infer", json=BODY)
            assert response.status_code == 200, response.text
            assert response.json()["outputs"][0]["data"][0] == pytest.approx(6.0)  # v1's answer
            assert response.headers["x-latte-model-version"] == "1"
        fallbacks = (
            'latte_gateway_fallbacks_total{from_version="3",model="tiny",reason="backend_500"'
        )
        assert _metric(client, fallbacks) == 5
        direct = client.post("/v2/models/tiny/versions/3/infer", json=BODY)
    assert direct.status_code == 502
    assert (
        "TF Serving failed on tiny v3 with 500: INTERNAL: Matrix size-incompatible" in direct.text
    )


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (400, {"error": "INVALID_ARGUMENT: NaN in input"}, 400, "TF Serving rejected the request"),
        (404, {"error": "Servable not found"}, 503, "TF Serving does not serve tiny v1"),
        (503, b"<html>overloaded</html>", 502, "with 503: <html>overloaded</html>"),
        (200, b"not json", 502, "a body that is not JSON"),
        (200, {"predictions": [[1, 2, 3]]}, 502, "has no 'outputs'"),
        (200, {"outputs": {"other": [[1, 2, 3]]}}, 502, "lacks output 'OUTPUT__0'"),
        (200, {"outputs": [[1, 2], [3]]}, 502, "is not a FP32 tensor"),
        (200, {"outputs": [["a", "b", "c"]]}, 502, "is not a FP32 tensor"),
        (200, {"outputs": [[1, 2]]}, 502, "has shape [1, 2]; the signature says [-1, 3]"),
    ],
    ids=["400", "404", "503-html", "not-json", "no-outputs", "wrong-name", "ragged", "strings",
         "shape"],
)  # fmt: skip
def test_protocol_level_tfserving_errors_and_bad_bodies_map_to_clear_answers(
    serve_gateway, double, status, body, code, message
):
    server = _gateway(serve_gateway, double)
    double.override = lambda name, version, request: (status, body)
    with httpx.Client(base_url=f"http://{server.url}") as client:
        response = client.post("/v2/models/tiny/versions/1/infer", json=BODY)
    assert response.status_code == code, response.text
    assert message in response.json()["error"]


def test_a_version_tfserving_unloaded_is_not_ready_and_a_503(serve_gateway, double):
    server = _gateway(serve_gateway, double)
    double.models["tiny"][2].state = "END"
    with httpx.Client(base_url=f"http://{server.url}") as client:
        assert client.get("/v2/models/tiny/versions/2/ready").status_code == 503
        assert client.get("/v2/models/tiny/versions/1/ready").status_code == 200
        response = client.post("/v2/models/tiny/versions/2/infer", json=BODY)
    assert response.status_code == 503
    assert "TF Serving does not serve tiny v2" in response.json()["error"]


def test_a_client_error_is_a_4xx_before_tfserving_is_asked(serve_gateway, double):
    server = _gateway(serve_gateway, double)
    before = double.predicts
    with httpx.Client(base_url=f"http://{server.url}") as client:
        wrong_name = {"inputs": [{**BODY["inputs"][0], "name": "features"}]}
        response = client.post("/v2/models/tiny/infer", json=wrong_name)
        assert response.status_code == 400
        assert "has no input 'features'; inputs: INPUT__0" in response.json()["error"]
        bytes_input = {"inputs": [{**BODY["inputs"][0], "datatype": "INT64"}]}
        assert client.post("/v2/models/tiny/infer", json=bytes_input).status_code == 400
    assert double.predicts == before


def test_tfserving_down_is_a_503_naming_it(serve_gateway, double):
    with TfServingDouble({"tiny": {1: _tiny(1.0)}}) as lone:
        server = _gateway(serve_gateway, lone)
    # the double is stopped now: connections are refused
    with httpx.Client(base_url=f"http://{server.url}") as client:
        response = client.post("/v2/models/tiny/infer", json=BODY)
        ready = client.get("/v2/health/ready")
    assert response.status_code == 503
    assert f"TF Serving at {lone.url} is unreachable" in response.json()["error"]
    assert ready.status_code == 503
    assert ready.json()["error"] == "not every routed model version is ready on the backend"


def test_all_models_on_tfserving_need_no_repository(serve_gateway, double, tmp_path):
    server = serve_gateway(
        model_repository=tmp_path / "absent",
        tfserving_url=double.url,
        model_runtimes={"tiny": "tfserving"},
    )
    with httpx.Client(base_url=f"http://{server.url}") as client:
        response = client.post("/v2/models/tiny/versions/2/infer", json=BODY)
        assert response.status_code == 200, response.text
        assert response.json()["outputs"][0]["data"][0] == pytest.approx(12.0)
        assert client.get("/v2/models/plain").status_code == 404


def test_triton_and_tfserving_models_side_by_side(triton_server, serve_gateway, double, tmp_path):
    routing = "models:\n  tiny: {stable: 1, weights: {1: 0, 2: 100}}\n"
    # the Kubernetes case: no repository, the models are learned from Triton and TF Serving
    server = _gateway(serve_gateway, double, tmp_path, routing, backend="triton",
                      triton_url=triton_server.http_url,
                      model_repository=tmp_path / "absent")  # fmt: skip
    plain = {"inputs": [{"name": "X", "datatype": "INT64", "shape": [2, 2], "data": [1, 2, 3, 4]}]}
    with httpx.Client(base_url=f"http://{server.url}") as client:
        assert client.get("/admin/routing").json()["backend"] == "triton+tfserving"
        on_triton = client.post("/v2/models/plain/infer", json=plain)
        on_tfserving = client.post("/v2/models/tiny/infer", json=BODY)
        assert client.get("/v2/health/ready").status_code == 200
    assert on_triton.status_code == 200, on_triton.text
    assert on_triton.json()["outputs"][0]["data"] == [2, 4, 6, 8]
    assert on_tfserving.status_code == 200, on_tfserving.text
    assert on_tfserving.json()["outputs"][0]["data"][0] == pytest.approx(12.0)  # v2 = x2


# uvicorn ends its thread with SystemExit(3) when the startup fails, as the CLI then exits 3
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_without_a_repository_the_signature_is_checked_against_triton(
    triton_server, tmp_path, caplog
):
    renamed = ServedModel({"x": TINY_IN["INPUT__0"]}, TINY_OUT, _broken)
    with TfServingDouble({"tiny": {1: renamed}}) as lone:
        settings = GatewaySettings(
            model_repository=tmp_path / "absent", triton_url=triton_server.http_url,
            tfserving_url=lone.url, model_runtimes="tiny=tfserving", discovery_timeout_s=0,
        )  # fmt: skip
        with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="did not start"):
            ServerThread(create_app(settings), settings).__enter__()
    assert "signature of 'tiny' has no input 'INPUT__0' (it has x)" in caplog.text
    assert f"its Triton config (triton {triton_server.http_url} model tiny)" in caplog.text


# --- startup: each misconfiguration is one clear line ---------------------------------------


def test_a_model_on_tfserving_without_a_url_is_refused(model_repository):
    settings = GatewaySettings(model_repository=model_repository, model_runtimes="tiny=tfserving")
    with pytest.raises(ConfigFileError, match="LATTE_SERVING_TFSERVING_URL"):
        create_app(settings)


def test_serve_refuses_a_model_on_tfserving_without_a_url_with_one_line(model_repository):
    result = subprocess.run(
        [sys.executable, "-m", "latte_serving", "serve", "--model-repository",
         str(model_repository), "--model-runtime", "tiny=tfserving", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "run on tfserving" in lines[0]


def test_serve_exits_3_naming_the_model_tfserving_lacks(tmp_path):
    with TfServingDouble({}) as lone:
        result = subprocess.run(
            [sys.executable, "-m", "latte_serving", "serve", "--model-repository",
             str(tmp_path / "none"), "--tfserving-url", lone.url, "--model-runtime",
             "tiny=tfserving", "--port", str(free_port())],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "LATTE_SERVING_DISCOVERY_TIMEOUT_S": "0"},
        )  # fmt: skip
    assert result.returncode == 3, result.stderr
    failed = [line for line in result.stderr.splitlines() if "startup failed: " in line]
    assert len(failed) == 1, result.stderr
    assert "does not serve model 'tiny' (404: Could not find any versions" in failed[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["tiny", "tiny=onnx", "=tfserving"])
def test_a_malformed_runtime_map_is_refused(value):
    with pytest.raises(ValueError, match="must be MODEL=RUNTIME"):
        GatewaySettings(model_runtimes=value)


def _discover(backend: TfServingBackend):
    return asyncio.run(discover_models(backend, timeout_s=0))


def test_a_signature_without_the_expected_input_stops_startup(model_repository):
    renamed = ServedModel({"x": TINY_IN["INPUT__0"]}, TINY_OUT, _broken)
    expected = load_repository(model_repository)
    with TfServingDouble({"tiny": {1: renamed}}) as lone:
        backend = TfServingBackend(lone.url, ["tiny"], expected=expected)
        with pytest.raises(ServingError, match="signature of 'tiny' has no input 'INPUT__0'"):
            _discover(backend)


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ({}, "does not serve model 'tiny' (404: Could not find any versions of model tiny)"),
        ({"tiny": {1: ServedModel(TINY_IN, TINY_OUT, _broken, state="LOADING")}},
         "no AVAILABLE version"),
        ({"tiny": {1: ServedModel(TINY_IN, TINY_OUT, _broken, has_default=False)}},
         "has no 'serving_default' signature (it has: __saved_model_init_op)"),
        ({"tiny": {1: ServedModel({"s": ("DT_STRING", [-1])}, TINY_OUT, _broken)}},
         "tensor 's' has dtype 'DT_STRING'"),
        ({"tiny": {1: _tiny(1.0), 2: ServedModel(TINY_IN, {"y": ("DT_FLOAT", [-1, 3])}, _broken)}},
         "different serving_default signatures"),
    ],
    ids=["unknown model", "loading", "no serving_default", "string input", "versions differ"],
)  # fmt: skip
def test_discovery_names_what_tfserving_lacks(models, message):
    with TfServingDouble(models) as lone, pytest.raises(ServingError) as raised:
        _discover(TfServingBackend(lone.url, ["tiny"]))
    assert message in str(raised.value)
    assert "tfserving at http://127.0.0.1:" in str(raised.value)


def test_a_model_that_does_not_batch_keeps_its_dims():
    plain = ServedModel({"X": ("DT_INT64", [2, 2])}, {"Y": ("DT_INT64", [2, 2])}, _broken)
    with TfServingDouble({"plain": {7: plain}}) as lone:
        spec = _discover(TfServingBackend(lone.url, ["plain"]))["plain"]
    assert (spec.max_batch_size, spec.versions, spec.inputs[0].dims) == (0, (7,), (2, 2))
    assert spec.inputs[0].datatype == "INT64"


@pytest.mark.parametrize("url", ["127.0.0.1", "https://127.0.0.1:8501", "http://h:1/v1"])
def test_a_bad_tfserving_url_is_refused(url):
    with pytest.raises(ConfigFileError, match="TF Serving URL"):
        TfServingBackend(url, ["tiny"])


# --- fuzz: whatever TF Serving answers, the gateway answers 200 or a clear 502 -------------

_ANSWERS = st.one_of(
    st.binary(max_size=40),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=4)),
        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                st.dictionaries(st.sampled_from(["outputs", "OUTPUT__0", "error"]),
                                                inner, max_size=3)),
        max_leaves=12,
    ).map(lambda value: json.dumps(value).encode()),
)  # fmt: skip


def test_fuzz_any_tfserving_answer_is_a_200_or_a_clear_502(serve_gateway, double):
    server = _gateway(serve_gateway, double)
    client = httpx.Client(base_url=f"http://{server.url}")

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(answer=_ANSWERS, status=st.sampled_from([200, 200, 400, 500]))
    def check(answer, status):
        double.override = lambda name, version, request: (status, answer)
        response = client.post("/v2/models/tiny/versions/1/infer", json=BODY)
        expected = {200: (200, 502), 400: (400,), 500: (502,)}[status]
        assert response.status_code in expected, response.text
        if response.status_code != 200:
            assert response.json()["error"].startswith("TF Serving")

    try:
        check()
    finally:
        client.close()


def test_fuzz_malformed_client_bodies_for_a_tfserving_model_never_get_a_5xx(serve_gateway, double):
    server = _gateway(serve_gateway, double)
    client = httpx.Client(base_url=f"http://{server.url}", timeout=30)

    @settings(max_examples=80, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=infer_request())
    def check(case):
        body, headers = case
        response = client.post("/v2/models/tiny/versions/1/infer", content=body, headers=headers)
        assert response.status_code < 500, response.text
        if response.status_code != 200:
            assert response.json()["error"]

    try:
        check()
    finally:
        client.close()
