import json

import numpy as np
import pytest

from latte_loadtests import BenchUsageError
from latte_loadtests.payloads import (
    InputSpec,
    build_pool,
    encode_binary,
    encode_json,
    held_out_rows,
)

SPEC = InputSpec("input__0", "FP32", (-1, 4))


def test_held_out_rows_match_the_models_stratified_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    rows = np.arange(len(data.target))
    _, test = train_test_split(rows, test_size=0.2, random_state=3, stratify=data.target)
    held_out = held_out_rows("digits", test_fraction=0.2, seed=3)
    assert np.array_equal(held_out, data.data[np.sort(test)])


def test_held_out_rows_are_seeded():
    a = held_out_rows("breast_cancer", test_fraction=0.2, seed=0)
    b = held_out_rows("breast_cancer", test_fraction=0.2, seed=0)
    c = held_out_rows("breast_cancer", test_fraction=0.2, seed=1)
    assert a.shape == (114, 30)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(BenchUsageError, match="unknown dataset 'iris'; known: breast_cancer"):
        held_out_rows("iris", test_fraction=0.2, seed=0)


def test_binary_body_is_header_then_raw_little_endian_floats():
    rows = np.arange(8, dtype=np.float32).reshape(2, 4)
    request = encode_binary(SPEC, rows)
    length = int(request.headers["Inference-Header-Content-Length"])
    header = json.loads(request.body[:length])
    assert header["inputs"][0] == {
        "name": "input__0",
        "shape": [2, 4],
        "datatype": "FP32",
        "parameters": {"binary_data_size": 32},
    }
    assert np.array_equal(np.frombuffer(request.body[length:], "<f4").reshape(2, 4), rows)
    assert request.rows == 2


def test_json_body_carries_the_data_flat():
    request = encode_json(SPEC, np.ones((3, 4), dtype=np.float32))
    tensor = json.loads(request.body)["inputs"][0]
    assert tensor["shape"] == [3, 4]
    assert tensor["data"] == [1.0] * 12
    assert request.headers["Content-Type"] == "application/json"


def test_pool_draws_batch_sizes_from_the_profile():
    features = np.random.default_rng(0).random((50, 4))
    pool = build_pool(SPEC, features, batch_sizes=(1, 8), encoding="json", size=40)
    assert {r.rows for r in pool} == {1, 8}


def test_model_without_batch_dimension_gets_single_rows_shaped_as_declared():
    spec = InputSpec("x", "FP32", (2, 2))
    pool = build_pool(spec, np.ones((5, 4)), batch_sizes=(8,), encoding="json", size=3)
    assert {r.rows for r in pool} == {1}
    assert json.loads(pool[0].body)["inputs"][0]["shape"] == [2, 2]


def test_feature_count_mismatch_names_both_sizes():
    with pytest.raises(BenchUsageError, match=r"takes 4 features per row .* data set has 30"):
        build_pool(SPEC, np.ones((5, 30)), batch_sizes=(1,), encoding="binary")


def test_unsupported_datatype_is_refused():
    spec = InputSpec("x", "BYTES", (-1, 4))
    with pytest.raises(BenchUsageError, match="datatype BYTES"):
        build_pool(spec, np.ones((5, 4)), batch_sizes=(1,), encoding="binary")


def test_metadata_with_several_inputs_is_refused():
    metadata = {"inputs": [{"name": "a"}, {"name": "b"}]}
    with pytest.raises(BenchUsageError, match="declares 2 inputs"):
        InputSpec.from_metadata("m", metadata)


def test_metadata_of_one_input_is_read():
    metadata = {"inputs": [{"name": "in", "datatype": "FP32", "shape": [-1, 64]}]}
    assert InputSpec.from_metadata("m", metadata) == InputSpec("in", "FP32", (-1, 64))
