"""The exported repository served by a real tritonserver (nvidia-pytriton wheel, python
backend shim around ONNX Runtime): each model is READY and answers tritonclient.http with the
predictions ONNX Runtime gives in process."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from latte_models import config_path, load_config
from latte_models._common.data import split_dataset
from latte_models._common.onnx_io import run_onnx
from latte_models.models import get_family

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def triton(built, tmp_path_factory):
    serving_triton = pytest.importorskip("latte_serving.triton")
    build_dir = built["build_dir"]
    # only the ONNX models: this server has no libtorch backend for digits_torchscript
    source = tmp_path_factory.mktemp("onnx-repository")
    for name in ("digits", "tumor"):
        shutil.copytree(build_dir / "model-repository" / name, source / name)
    target = tmp_path_factory.mktemp("shim") / "repository"
    serving_triton.shim_repository(source, target)
    with serving_triton.TritonProcess(target, startup_timeout=120) as server:
        yield server


def _test_split(name):
    config = load_config(config_path(name))
    split = split_dataset(
        get_family(name).load_data(), seed=config.seed,
        validation_fraction=config.validation_fraction, test_fraction=config.test_fraction,
    )  # fmt: skip
    return config, split.part("test")[0][:32]


@pytest.mark.parametrize("name", ["digits", "tumor"])
def test_triton_serves_the_same_predictions_as_onnx_runtime(built, triton, name):
    import tritonclient.http as httpclient

    config, x = _test_split(name)
    client = httpclient.InferenceServerClient(url=triton.http_url)
    try:
        assert client.is_model_ready(name)
        metadata = client.get_model_metadata(name)
        assert [t["name"] for t in metadata["inputs"]] == [config.input_name]
        request = httpclient.InferInput(config.input_name, list(x.shape), "FP32")
        request.set_data_from_numpy(x)
        answer = client.infer(
            name, [request], outputs=[httpclient.InferRequestedOutput(config.output_name)]
        )
        served = answer.as_numpy(config.output_name)
    finally:
        client.close()
    local = run_onnx(built["build_dir"] / "model-repository" / name / "1" / "model.onnx", x)
    np.testing.assert_allclose(served, local, atol=config.atol)
    family = get_family(name)
    assert (family.decide(served, config) == family.decide(local, config)).all()
