"""Protocol-level: tumor's real SavedModel behind the gateway's tfserving backend.

No registry this machine reaches ships ``tensorflow_model_server``, so the server here is
serving's TF Serving REST double (a real HTTP server on 127.0.0.1 with TF Serving's
documented routes); its answers are the built SavedModel's ``serving_default`` signature
run by TensorFlow, and its metadata is that signature's. ``tritonclient.http`` calls the
real gateway unchanged; the answers must equal TensorFlow's exactly (the translation is
lossless) and ONNX Runtime's on the exported ONNX model within the config's tolerance. The
real round trip against a ``tensorflow/serving`` container is ci/workflows/tfserving.yml.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from latte_contracts.ports import free_port
from latte_models import config_path, load_config
from latte_models._common.data import split_dataset
from latte_models._common.onnx_io import run_onnx
from latte_models.models import get_family

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

# serving's TF Serving double is shared, not copied
_SERVING_TESTS = Path(__file__).resolve().parents[3] / "serving" / "tests"


@pytest.fixture(scope="module")
def serving_tests():
    pytest.importorskip("latte_serving")
    sys.path.insert(0, str(_SERVING_TESTS))
    import tfserving_double

    yield tfserving_double
    sys.path.remove(str(_SERVING_TESTS))


class _Gateway:
    def __init__(self, url: str) -> None:
        self.url = url  # host:port, as tritonclient takes it


@contextlib.contextmanager
def _gateway_process(repository: Path, tfserving_url: str, log: Path) -> Iterator[_Gateway]:
    """The real gateway in its own process: this test process has imported Locust (the
    contract tests read loadtests' code), whose gevent monkey-patching would turn an in-process
    uvicorn thread into a greenlet that blocks every other one."""
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "LATTE_SERVING_TFSERVING_URL": tfserving_url,
        "LATTE_SERVING_MODEL_RUNTIMES": "tumor=tfserving",
    }
    argv = [
        sys.executable, "-m", "latte_serving", "serve", "--model-repository", str(repository),
        "--backend", "local", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with log.open("wb") as handle:
        process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2).is_success:
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.25)
        yield _Gateway(f"127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=20)


def _signature(tf, function):
    """The signature as TF Serving's metadata reports it: dtype enum names, -1 for None."""
    from tensorflow.core.framework import types_pb2

    def described(specs):
        return {
            name: (types_pb2.DataType.Name(spec.dtype.as_datatype_enum),
                   [-1 if d is None else d for d in spec.shape.as_list()])
            for name, spec in specs.items()
        }  # fmt: skip

    return described(function.structured_input_signature[1]), described(function.structured_outputs)


@pytest.fixture(scope="module")
def saved_model(built):
    tf = pytest.importorskip("tensorflow")
    folder = built["build_dir"] / "tf-serving" / "tumor" / "1"
    function = tf.saved_model.load(str(folder)).signatures["serving_default"]

    def predict(arrays):
        outputs = function(**{name: tf.constant(value) for name, value in arrays.items()})
        return {name: value.numpy() for name, value in outputs.items()}

    return (*_signature(tf, function), predict)


@pytest.fixture(scope="module")
def gateway(built, saved_model, serving_tests, tmp_path_factory):
    double_module = serving_tests
    inputs, outputs, predict = saved_model
    served = {"tumor": {1: double_module.ServedModel(inputs, outputs, predict)}}
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with (
        double_module.TfServingDouble(served) as double,
        _gateway_process(built["build_dir"] / "model-repository", double.url, log) as server,
    ):
        yield server, double


def _test_rows():
    config = load_config(config_path("tumor"))
    split = split_dataset(
        get_family("tumor").load_data(), seed=config.seed,
        validation_fraction=config.validation_fraction, test_fraction=config.test_fraction,
    )  # fmt: skip
    return config, split.part("test")[0][:32]


def _round_trip(server, saved_model, built, binary: bool) -> None:
    """tritonclient -> gateway -> TF Serving (or its double): TF's numbers, ORT's within atol."""
    import tritonclient.http as httpclient

    config, x = _test_rows()
    client = httpclient.InferenceServerClient(url=server.url)
    try:
        assert client.is_model_ready("tumor")
        metadata = client.get_model_metadata("tumor")
        assert metadata["platform"] == "tensorflow_savedmodel"
        assert metadata["inputs"] == [
            {"name": config.input_name, "datatype": "FP32", "shape": [-1, 30]}
        ]
        request = httpclient.InferInput(config.input_name, list(x.shape), "FP32")
        request.set_data_from_numpy(x, binary_data=binary)
        wanted = [httpclient.InferRequestedOutput(config.output_name, binary_data=binary)]
        served = client.infer("tumor", [request], outputs=wanted).as_numpy(config.output_name)
    finally:
        client.close()
    tensorflow = saved_model[2]({config.input_name: x})[config.output_name]
    # float32 -> JSON -> float32 is exact; a real TF Serving may differ in the last bits
    np.testing.assert_allclose(served, tensorflow, rtol=1e-6, atol=1e-7)
    onnx = run_onnx(built["build_dir"] / "model-repository" / "tumor" / "1" / "model.onnx", x)
    np.testing.assert_allclose(served, onnx, atol=config.atol)
    family = get_family("tumor")
    assert (family.decide(served, config) == family.decide(onnx, config)).all()


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_protocol_level_tumor_savedmodel_through_the_gateway_equals_onnx_runtime(
    built, saved_model, gateway, binary
):
    server, double = gateway
    predicts = double.predicts
    _round_trip(server, saved_model, built, binary)
    assert double.predicts == predicts + 1  # TF Serving's stand-in answered, not ONNX Runtime


def test_protocol_level_digits_stays_on_onnx_runtime_beside_tumor(gateway):
    import httpx

    server, double = gateway
    predicts = double.predicts
    with httpx.Client(base_url=f"http://{server.url}") as client:
        assert client.get("/admin/routing").json()["backend"] == "local+tfserving"
        metadata = client.get("/v2/models/digits").json()
        assert metadata["platform"] != "tensorflow_savedmodel"
        width = metadata["inputs"][0]["shape"][1]
        body = {"inputs": [{"name": metadata["inputs"][0]["name"], "datatype": "FP32",
                            "shape": [1, width], "data": [0.0] * width}]}  # fmt: skip
        response = client.post("/v2/models/digits/infer", json=body)
    assert response.status_code == 200, response.text
    assert double.predicts == predicts


_REAL_URL = os.environ.get("TFSERVING_URL", "")


@pytest.mark.skipif(
    not _REAL_URL, reason="not run: needs a real TF Serving, see ci/workflows/tfserving.yml"
)
def test_real_tfserving_round_trip(built, saved_model, tmp_path):
    """The real ``tensorflow_model_server`` (a pinned container in CI) loads the built
    SavedModel from the folder it watches; the gateway translates for it."""
    import httpx

    target = Path(os.environ["TFSERVING_MODEL_DIR"]) / "tumor"
    target.mkdir(parents=True, exist_ok=True)
    for version in (built["build_dir"] / "tf-serving" / "tumor").iterdir():
        # copied beside, then renamed: TF Serving must never see a half-copied version
        partial = target / f".{version.name}.partial"
        shutil.copytree(version, partial)
        partial.replace(target / version.name)
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=_REAL_URL, timeout=5) as client:
        while True:  # TF Serving polls its model folder and loads new versions by itself
            with contextlib.suppress(httpx.HTTPError):
                status = client.get("/v1/models/tumor").json()
                if any(v["state"] == "AVAILABLE" for v in status.get("model_version_status", [])):
                    break
            assert time.monotonic() < deadline, "TF Serving did not load tumor in 120 s"
            time.sleep(1)
    repository = built["build_dir"] / "model-repository"
    with _gateway_process(repository, _REAL_URL, tmp_path / "gateway.log") as server:
        for binary in (False, True):
            _round_trip(server, saved_model, built, binary)
