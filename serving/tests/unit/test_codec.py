import json

import numpy as np
import pytest
from serving_models import write_repository

from latte_serving.codec import parse_request, validate_request
from latte_serving.errors import InvalidRequestError
from latte_serving.repository import load_repository
from latte_serving.tensors import decode_inputs, encode_response


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_repository(write_repository(tmp_path_factory.mktemp("r") / "repo"))["tiny"]


X = np.arange(8, dtype=np.float32).reshape(2, 4)


def _binary_request(outputs=None, parameters=None):
    header = {
        "id": "req-1",
        "inputs": [
            {
                "name": "INPUT__0",
                "datatype": "FP32",
                "shape": [2, 4],
                "parameters": {"binary_data_size": X.nbytes},
            }
        ],
    }
    if outputs is not None:
        header["outputs"] = outputs
    if parameters is not None:
        header["parameters"] = parameters
    text = json.dumps(header).encode()
    return parse_request(text + X.tobytes(), str(len(text)))


def test_binary_request_round_trip(tiny):
    request = _binary_request()
    validate_request(tiny, request)
    np.testing.assert_array_equal(decode_inputs(tiny, request)["INPUT__0"], X)
    assert request.request_id == "req-1"


def test_json_request_with_nested_data_decodes(tiny):
    body = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [2, 4],
                        "data": X.tolist()}]}  # fmt: skip
    request = parse_request(json.dumps(body).encode(), None)
    validate_request(tiny, request)
    np.testing.assert_array_equal(decode_inputs(tiny, request)["INPUT__0"], X)
    assert request.binary == b""
    assert request.request_id == ""


def test_response_is_binary_only_where_asked(tiny):
    y = np.ones((2, 3), dtype=np.float32)
    binary = encode_response("tiny", 2, _binary_request(parameters={"binary_data_output": True}),
                             {"OUTPUT__0": y})  # fmt: skip
    assert binary.header_length is not None
    header = json.loads(binary.body[: binary.header_length])
    assert header["model_version"] == "2"
    assert header["id"] == "req-1"
    assert header["outputs"][0]["parameters"]["binary_data_size"] == y.nbytes
    assert binary.body[binary.header_length :] == y.tobytes()

    as_json = encode_response(
        "tiny", 1, _binary_request(outputs=[{"name": "OUTPUT__0"}]), {"OUTPUT__0": y}
    )
    assert as_json.header_length is None
    assert json.loads(as_json.body)["outputs"][0]["data"] == [1.0] * 6


def test_bytes_typed_outputs_are_labelled():
    out = encode_response("m", 1, _binary_request(), {"s": np.array(["a"], dtype=object)})
    assert json.loads(out.body)["outputs"][0]["datatype"] == "BYTES"


def test_json_data_of_the_wrong_length_is_a_400(tiny):
    body = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [2, 4], "data": [1]}]}
    request = parse_request(json.dumps(body).encode(), None)
    with pytest.raises(InvalidRequestError, match="carries 1 values"):
        validate_request(tiny, request)  # before any backend sees it
