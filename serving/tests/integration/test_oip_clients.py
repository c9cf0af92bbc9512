"""tritonclient.http, unchanged, against the gateway (local and triton backends) and Triton.

Results must equal ONNX Runtime run directly on the model file, in JSON and binary modes.
"""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.http as httpclient
from serving_models import run_onnx
from tritonclient.utils import InferenceServerException

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

X = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.5, 8.0]], dtype=np.float32)


def _infer(url: str, *, binary: bool, version: str = "", headers=None):
    client = httpclient.InferenceServerClient(url)
    try:
        item = httpclient.InferInput("INPUT__0", list(X.shape), "FP32")
        item.set_data_from_numpy(X, binary_data=binary)
        wanted = httpclient.InferRequestedOutput("OUTPUT__0", binary_data=binary)
        return client.infer(
            "tiny", [item], outputs=[wanted], model_version=version, headers=headers
        )
    finally:
        client.close()


def _reference(repository, version: int) -> np.ndarray:
    return run_onnx(repository / "tiny" / str(version) / "model.onnx", {"INPUT__0": X})[0]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("version", [1, 2])
def test_local_gateway_equals_onnxruntime(local_gateway, model_repository, binary, version):
    result = _infer(local_gateway.url, binary=binary, version=str(version))
    np.testing.assert_allclose(result.as_numpy("OUTPUT__0"), _reference(model_repository, version))
    assert result.get_response()["model_version"] == str(version)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("version", [1, 2])
def test_triton_gateway_equals_direct_triton_and_onnxruntime(
    triton_gateway, triton_server, model_repository, binary, version
):
    through_gateway = _infer(triton_gateway.url, binary=binary, version=str(version))
    direct = _infer(triton_server.http_url, binary=binary, version=str(version))
    expected = _reference(model_repository, version)
    np.testing.assert_allclose(through_gateway.as_numpy("OUTPUT__0"), expected, rtol=1e-6)
    np.testing.assert_allclose(direct.as_numpy("OUTPUT__0"), expected, rtol=1e-6)


def test_unversioned_request_says_which_version_answered(triton_gateway, model_repository):
    result = _infer(triton_gateway.url, binary=True, headers={"x-latte-route-key": "user-7"})
    version = int(result.get_response()["model_version"])
    assert version in (1, 2)
    np.testing.assert_allclose(
        result.as_numpy("OUTPUT__0"), _reference(model_repository, version), rtol=1e-6
    )


def test_metadata_health_and_config_match_the_repository(triton_gateway, triton_server):
    assert triton_server.pid is not None
    assert triton_server.metrics_url.endswith("/metrics")
    client = httpclient.InferenceServerClient(triton_gateway.url)
    try:
        assert client.is_server_live()
        assert client.is_server_ready()
        assert client.is_model_ready("tiny")
        assert client.is_model_ready("tiny", "2")
        metadata = client.get_model_metadata("tiny")
        assert metadata["versions"] == ["1", "2", "3", "4"]
        assert metadata["inputs"] == [{"name": "INPUT__0", "datatype": "FP32", "shape": [-1, 4]}]
        config = client.get_model_config("tiny")
        assert config["max_batch_size"] == 8
        assert config["dynamic_batching"]["max_queue_delay_microseconds"] == 2000
        assert client.get_server_metadata()["name"] == "latte-gateway"
    finally:
        client.close()


def test_non_batching_int64_model_through_both_backends(local_gateway, triton_gateway):
    x = np.array([[1, 2], [3, -4]], dtype=np.int64)
    for url in (local_gateway.url, triton_gateway.url):
        client = httpclient.InferenceServerClient(url)
        try:
            item = httpclient.InferInput("X", [2, 2], "INT64")
            item.set_data_from_numpy(x)
            np.testing.assert_array_equal(client.infer("plain", [item]).as_numpy("Y"), x + x)
        finally:
            client.close()


def test_unknown_model_is_a_clear_client_error(local_gateway):
    client = httpclient.InferenceServerClient(local_gateway.url)
    try:
        item = httpclient.InferInput("INPUT__0", [1, 4], "FP32")
        item.set_data_from_numpy(X[:1])
        with pytest.raises(InferenceServerException, match="unknown model 'nope'"):
            client.infer("nope", [item])
    finally:
        client.close()


def test_gateway_without_a_repository_learns_the_models_from_triton(triton_server, tmp_path):
    from serving_servers import ServerThread

    from latte_serving.app import create_app
    from latte_serving.settings import GatewaySettings

    routing = tmp_path / "routing.yaml"
    routing.write_text("models:\n  tiny: {stable: '2', weights: {'2': 100}}\n")
    settings = GatewaySettings(
        model_repository=tmp_path / "not-mounted",
        triton_url=f"http://{triton_server.http_url}",  # the chart passes a URL
        routing_file=routing,
    )
    with ServerThread(create_app(settings)) as server:
        result = _infer(server.url, binary=True)
        client = httpclient.InferenceServerClient(server.url)
        try:
            metadata = client.get_model_metadata("tiny")
            config = client.get_model_config("tiny")
        finally:
            client.close()
    assert result.get_response()["model_version"] == "2"
    assert metadata["versions"] == ["1", "2", "3", "4"]
    assert config["dynamic_batching"]["max_queue_delay_microseconds"] == 2000
    assert metadata["name"] == "tiny"


def test_discovery_gives_up_with_a_clear_error():
    import asyncio

    from latte_contracts.ports import free_port
    from latte_serving._discovery import discover_models
    from latte_serving.backends import TritonBackend
    from latte_serving.errors import ServingError

    backend = TritonBackend(f"127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(ServingError, match=r"within 0\.3s"):
        asyncio.run(discover_models(backend, timeout_s=0.3, interval_s=0.1))
