"""Open Inference Protocol v2 request/response bodies: JSON tensors and the binary extension.

A binary request is a JSON header of ``Inference-Header-Content-Length`` bytes followed by
the raw tensor bytes of every input whose ``parameters.binary_data_size`` is set, in input
order. The gateway parses and checks only the header (cheap), so the triton backend can pass
the body through untouched; the local backend decodes tensors with
:func:`latte_serving.tensors.decode_inputs`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from latte_serving.errors import InvalidRequestError
from latte_serving.repository import ModelSpec, TensorSpec

__all__ = ["DTYPES", "EncodedResponse", "InferRequest", "parse_request", "validate_request"]

DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
}


@dataclasses.dataclass(frozen=True)
class InferRequest:
    """A parsed request: the JSON header, and the raw body for pass-through."""

    header: Mapping[str, Any]
    body: bytes
    header_length: int | None  # None for a plain JSON request

    @property
    def binary(self) -> bytes:
        """The tensor bytes after the JSON header (empty for a JSON request)."""
        return self.body[self.header_length :] if self.header_length is not None else b""

    @property
    def request_id(self) -> str:
        value = self.header.get("id", "")
        return value if isinstance(value, str) else ""


@dataclasses.dataclass(frozen=True)
class EncodedResponse:
    """A response body ready to send, and its binary header length if any."""

    body: bytes
    header_length: int | None = None


def parse_request(body: bytes, header_length: str | None) -> InferRequest:
    """Split and parse the body; every malformation is an InvalidRequestError (400)."""
    length = _header_length(header_length, len(body))
    raw = body if length is None else body[:length]
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidRequestError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise InvalidRequestError("request body must be a JSON object with an 'inputs' list")
    _check_parameters(header, "the request")
    return InferRequest(header=header, body=body, header_length=length)


def _header_length(value: str | None, body_length: int) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise InvalidRequestError(
            f"Inference-Header-Content-Length must be a non-negative integer, got {value!r}"
        )
    length = int(value)
    if length > body_length:
        raise InvalidRequestError(
            f"Inference-Header-Content-Length {length} exceeds the body size {body_length}"
        )
    return length


def _check_parameters(item: Mapping[str, Any], what: str) -> None:
    if not isinstance(item.get("parameters", {}), dict):
        raise InvalidRequestError(f"'parameters' of {what} must be a JSON object")


def validate_request(spec: ModelSpec, request: InferRequest) -> None:
    """Check inputs and outputs against the model's config; raise a 400 naming the problem."""
    inputs = request.header.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidRequestError("'inputs' must be a non-empty list of tensors")
    declared = {tensor.name: tensor for tensor in spec.inputs}
    seen: set[str] = set()
    binary_total = 0
    for item in inputs:
        tensor = _check_input(spec, declared, item)
        if tensor.name in seen:
            raise InvalidRequestError(f"input {tensor.name!r} is given more than once")
        seen.add(tensor.name)
        binary_total += _binary_size(item, tensor)
    missing = sorted(set(declared) - seen)
    if missing:
        raise InvalidRequestError(f"model {spec.name!r} needs input(s) {', '.join(missing)}")
    if binary_total != len(request.binary):
        raise InvalidRequestError(
            f"binary_data_size of the inputs adds up to {binary_total} bytes but the body "
            f"carries {len(request.binary)} bytes after the JSON header"
        )
    _check_outputs(spec, request.header.get("outputs", []))


def _check_input(spec: ModelSpec, declared: Mapping[str, TensorSpec], item: Any) -> TensorSpec:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise InvalidRequestError("every input must be an object with a string 'name'")
    _check_parameters(item, f"input {item['name']!r}")
    tensor = declared.get(item["name"])
    if tensor is None:
        raise InvalidRequestError(
            f"model {spec.name!r} has no input {item['name']!r}; inputs: {', '.join(declared)}"
        )
    if item.get("datatype") != tensor.datatype:
        raise InvalidRequestError(
            f"input {tensor.name!r} has datatype {item.get('datatype')!r}; the model "
            f"expects {tensor.datatype}"
        )
    _check_shape(spec, tensor, item.get("shape"))
    return tensor


def _check_shape(spec: ModelSpec, tensor: TensorSpec, shape: Any) -> None:
    expected = tensor.shape(spec.batched)
    ok = (
        isinstance(shape, list)
        and len(shape) == len(expected)
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        and all(e == -1 or e == d for e, d in zip(expected, shape, strict=True))
    )
    if not ok:
        raise InvalidRequestError(
            f"input {tensor.name!r} has shape {shape!r}; the model expects {expected} "
            "(-1 = any size)"
        )
    if spec.batched and not 0 < shape[0] <= spec.max_batch_size:
        raise InvalidRequestError(
            f"input {tensor.name!r} has batch size {shape[0]}; model {spec.name!r} takes "
            f"1 to {spec.max_batch_size}"
        )


def _binary_size(item: Mapping[str, Any], tensor: TensorSpec) -> int:
    parameters = item.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    count = math.prod(item["shape"])
    expected = count * DTYPES[tensor.datatype].itemsize if tensor.datatype in DTYPES else None
    if size is None:
        data = item.get("data")
        if not isinstance(data, list):
            raise InvalidRequestError(f"input {tensor.name!r} has no 'data' list and no binary")
        return 0
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidRequestError(f"input {tensor.name!r} binary_data_size {size!r} is invalid")
    if expected is not None and size != expected:
        raise InvalidRequestError(
            f"input {tensor.name!r} binary_data_size is {size} bytes; shape "
            f"{item['shape']} of {tensor.datatype} needs {expected}"
        )
    return size


def _check_outputs(spec: ModelSpec, outputs: Any) -> None:
    if not isinstance(outputs, list):
        raise InvalidRequestError("'outputs' must be a list of {\"name\": ...} objects")
    names = {tensor.name for tensor in spec.outputs}
    for item in outputs:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidRequestError("every output must be an object with a string 'name'")
        if item["name"] not in names:
            known = ", ".join(sorted(names))
            raise InvalidRequestError(
                f"model {spec.name!r} has no output {item['name']!r}; outputs: {known}"
            )
        _check_parameters(item, f"output {item['name']!r}")
