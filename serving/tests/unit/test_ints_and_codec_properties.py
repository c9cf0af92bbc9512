"""Property-based tests of the integer parser and the codec: a 4xx for anything malformed."""

from __future__ import annotations

import json

import pytest
from fuzz_strategies import INTEGERISH, UNICODE_DIGITS, infer_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latte_serving._ints import MAX_DIGITS, ascii_int, load_json
from latte_serving.codec import parse_request, validate_request
from latte_serving.errors import InvalidRequestError
from latte_serving.repository import ModelSpec, TensorSpec

FUZZ = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))  # fmt: skip
WIDE = ModelSpec(
    name="wide", path=None, versions=(1,),  # type: ignore[arg-type]
    inputs=(TensorSpec("INPUT__0", "FP32", (-1,)),), outputs=(TensorSpec("Y", "FP32", (-1,)),),
    max_batch_size=4, max_elements=1024,
)  # fmt: skip


@given(st.integers(min_value=0, max_value=10**MAX_DIGITS - 1))
def test_every_ascii_integer_round_trips(number):
    assert ascii_int(str(number)) == number
    assert ascii_int(str(number).encode()) == number


@given(INTEGERISH)
@FUZZ
def test_only_plain_ascii_digits_are_integers(text):
    number = ascii_int(text)
    plain = text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS
    assert (number is not None) == plain
    if plain:
        assert number == int(text)


@pytest.mark.parametrize("text", [*UNICODE_DIGITS, "+1", "-1", " 1", "1_000", "", "9" * 21])
def test_what_python_int_accepts_is_refused(text):
    assert ascii_int(text) is None


@pytest.mark.parametrize(
    "raw", [b"[" + b"1" * 5000 + b"]", b'{"a": -' + b"9" * 4301 + b"}", b"[NaN]", b"[Infinity]",
            b"[-Infinity]", b'{"x": 1' + b"0" * 21 + b"}"],
)  # fmt: skip
def test_json_with_huge_ints_or_constants_is_a_400(raw):
    with pytest.raises(InvalidRequestError) as caught:
        load_json(raw)
    assert caught.value.status_code == 400
    assert len(str(caught.value)) < 300  # never echoes the number back


@given(st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.text(),
                    lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids)))  # fmt: skip
def test_ordinary_json_parses_as_json_does(value):
    text = json.dumps(value)
    assert load_json(text) == json.loads(text)


@given(infer_request())
@FUZZ
def test_codec_raises_only_invalid_request_errors(case):
    body, headers = case
    length = headers.get("Inference-Header-Content-Length")
    refusal = None
    try:
        request = parse_request(body, length.decode("latin-1") if length else None)
        validate_request(WIDE, request)
    except InvalidRequestError as exc:  # anything else escapes and fails the test
        refusal = exc
    if refusal is not None:
        assert 400 <= refusal.status_code < 500
        assert len(str(refusal)) < 1000


def _request(shape, data=None, size=None):
    item = {"name": "INPUT__0", "datatype": "FP32", "shape": shape}
    if data is not None:
        item["data"] = data
    if size is not None:
        item["parameters"] = {"binary_data_size": size}
    header = json.dumps({"inputs": [item]}).encode()
    payload = b"\x00" * (size or 0)
    return parse_request(header + payload, str(len(header)) if size is not None else None)


@pytest.mark.parametrize(
    "request_args",
    [([1, 2147483648], [1.0], None), ([1, 2147483648], None, 4), ([4, 300], None, 4800),
     ([1, 3], [[1.0, 2.0]], None), ([1, 2], [1.0, 2.0, 3.0], None)],
    ids=["oversized shape, one JSON value", "oversized shape, 4 binary bytes",
         "over the model's element bound", "nested data too short", "data too long"],
)  # fmt: skip
def test_shape_must_match_the_data_and_the_bound(request_args):
    with pytest.raises(InvalidRequestError):
        validate_request(WIDE, _request(*request_args))


def test_data_matching_the_shape_passes():
    validate_request(WIDE, _request([2, 3], [[1, 2, 3], [4, 5, 6]]))
    validate_request(WIDE, _request([1, 256], None, 1024))
