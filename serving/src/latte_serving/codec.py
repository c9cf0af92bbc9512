"""Open Inference Protocol v2 request/response bodies: JSON tensors and the binary extension.

A binary request is a JSON header of ``Inference-Header-Content-Length`` bytes followed by
the raw tensor bytes of every input whose ``parameters.binary_data_size`` is set, in input
order. The gateway parses and checks only the header (cheap), so the triton backend can pass
the body through untouched; the local backend decodes tensors with
:func:`latte_serving.tensors.decode_inputs`.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from latte_serving._ints import ascii_int, load_json, shown
from latte_serving.errors import InvalidRequestError
from latte_serving.repository import ModelSpec, TensorSpec

__all__ = [
    "DEFAULT_MAX_ELEMENTS",
    "DTYPES",
    "EncodedResponse",
    "InferRequest",
    "parse_request",
    "validate_request",
]

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
    header = load_json(body if length is None else body[:length])
    if not isinstance(header, dict):
        raise InvalidRequestError("request body must be a JSON object with an 'inputs' list")
    _check_parameters(header, "the request")
    if "id" in header and not isinstance(header["id"], str):
        raise InvalidRequestError(f"request 'id' must be a string, got {shown(header['id'])}")
    return InferRequest(header=header, body=body, header_length=length)


def _header_length(value: str | None, body_length: int) -> int | None:
    if value is None:
        return None
    length = ascii_int(value)
    if length is None:
        raise InvalidRequestError(
            "Inference-Header-Content-Length must be a non-negative integer in ASCII digits, "
            f"got {shown(value)}"
        )
    if length > body_length:
        raise InvalidRequestError(
            f"Inference-Header-Content-Length {length} exceeds the body size {body_length}"
        )
    return length


# Parameters Triton reads, by JSON type: Triton's HTTP frontend answers 500 to a value of
# the wrong type, so the gateway refuses it with a 400 first.
_PARAMETER_TYPES: dict[str, tuple[type, ...]] = {
    "binary_data_output": (bool,),
    "binary_data": (bool,),
    "binary_data_size": (int,),
    "classification": (int,),
    "priority": (int,),
    "timeout": (int,),
    "sequence_id": (int, str),
    "sequence_start": (bool,),
    "sequence_end": (bool,),
    "shared_memory_region": (str,),
    "shared_memory_byte_size": (int,),
    "shared_memory_offset": (int,),
}


def _check_parameters(item: Mapping[str, Any], kind: str, name: object = None) -> None:
    parameters = item.get("parameters", {})
    what = kind if name is None else f"{kind} {shown(name)}"  # only read on the error path
    if not isinstance(parameters, dict):
        raise InvalidRequestError(f"'parameters' of {what} must be a JSON object")
    for key, value in parameters.items():
        types = _PARAMETER_TYPES.get(key)
        if types is None:
            continue
        # bool is an int in Python, not in JSON; integers here are unsigned
        if type(value) not in types or (type(value) is int and value < 0):
            expected = " or ".join("true/false" if t is bool else t.__name__ for t in types)
            raise InvalidRequestError(
                f"parameter {key!r} of {what} must be {expected}, got {shown(value)}"
            )


# Without a per-model bound (config parameter ``latte_max_elements``), a request may carry
# this many tensor elements in all: 16 Mi, 64 MiB of FP32, four times the default body limit.
DEFAULT_MAX_ELEMENTS = 16 * 1024 * 1024


def validate_request(
    spec: ModelSpec, request: InferRequest, max_elements: int = DEFAULT_MAX_ELEMENTS
) -> None:
    """Check inputs and outputs against the model's config; raise a 400 naming the problem.

    Shape x datatype gives each input's element and byte count, which must match the data
    it carries (JSON ``data`` or binary) and stay within the model's element bound, so a
    small body can never make a backend allocate a huge tensor.
    """
    inputs = request.header.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidRequestError("'inputs' must be a non-empty list of tensors")
    declared = spec.input_index
    seen: set[str] = set()
    budget = spec.max_elements or max_elements
    binary = request.binary
    offset = 0
    for item in inputs:
        tensor = _check_input(spec, declared, item)
        if tensor.name in seen:
            raise InvalidRequestError(f"input {tensor.name!r} is given more than once")
        seen.add(tensor.name)
        count = math.prod(item["shape"])
        budget -= count
        if budget < 0:
            raise InvalidRequestError(
                f"input {tensor.name!r} of shape {item['shape']} takes the request past "
                f"{spec.max_elements or max_elements} elements, the bound of model "
                f"{spec.name!r}; send smaller batches"
            )
        offset += _check_data(item, tensor, count, binary, offset)
    missing = sorted(set(declared) - seen)
    if missing:
        raise InvalidRequestError(f"model {spec.name!r} needs input(s) {', '.join(missing)}")
    if offset != len(binary):
        raise InvalidRequestError(
            f"binary_data_size of the inputs adds up to {offset} bytes but the body "
            f"carries {len(binary)} bytes after the JSON header"
        )
    _check_outputs(spec, request.header.get("outputs", []))


def _check_input(spec: ModelSpec, declared: Mapping[str, TensorSpec], item: Any) -> TensorSpec:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise InvalidRequestError("every input must be an object with a string 'name'")
    if "parameters" in item:
        _check_parameters(item, "input", item["name"])
    tensor = declared.get(item["name"])
    if tensor is None:
        raise InvalidRequestError(
            f"model {spec.name!r} has no input {shown(item['name'])}; inputs: {', '.join(declared)}"
        )
    if item.get("datatype") != tensor.datatype:
        raise InvalidRequestError(
            f"input {tensor.name!r} has datatype {shown(item.get('datatype'))}; the model "
            f"expects {tensor.datatype}"
        )
    _check_shape(spec, tensor, item.get("shape"))
    return tensor


def _check_shape(spec: ModelSpec, tensor: TensorSpec, shape: Any) -> None:
    expected = tensor.shape(spec.batched)
    ok = type(shape) is list and len(shape) == len(expected)
    if ok:  # a plain loop: this runs on every request
        for want, got in zip(expected, shape, strict=True):
            if type(got) is not int or got < 0 or (want != -1 and want != got):
                ok = False
                break
    if not ok:
        raise InvalidRequestError(
            f"input {tensor.name!r} has shape {shown(shape)}; the model expects {expected} "
            "(-1 = any size)"
        )
    if spec.batched and not 0 < shape[0] <= spec.max_batch_size:
        raise InvalidRequestError(
            f"input {tensor.name!r} has batch size {shape[0]}; model {spec.name!r} takes "
            f"1 to {spec.max_batch_size}"
        )


def _check_data(item: Mapping[str, Any], tensor: TensorSpec, count: int, binary: bytes,
                offset: int) -> int:  # fmt: skip
    """The binary bytes this input takes (0 for JSON data), after checking its count."""
    size = (item.get("parameters") or {}).get("binary_data_size")
    if size is None:
        data = item.get("data")
        if not isinstance(data, list):
            raise InvalidRequestError(f"input {tensor.name!r} has no 'data' list and no binary")
        carried = _leaves(data, count, tensor)
        if carried != count:
            raise InvalidRequestError(
                f"input {tensor.name!r} carries {carried if carried <= count else 'more'} "
                f"values; shape {item['shape']} needs {count}"
            )
        return 0
    if type(size) is not int or size < 0:
        raise InvalidRequestError(
            f"input {tensor.name!r} binary_data_size {shown(size)} is invalid"
        )
    dtype = DTYPES.get(tensor.datatype)
    expected = count * dtype.itemsize if dtype is not None else None
    if expected is not None and size != expected:
        raise InvalidRequestError(
            f"input {tensor.name!r} binary_data_size is {size} bytes; shape "
            f"{item['shape']} of {tensor.datatype} needs {expected}"
        )
    if tensor.datatype == "BYTES":
        _check_strings(tensor.name, binary[offset : offset + size], count)
    return size


def _leaves(data: list[Any], limit: int, tensor: TensorSpec) -> int:
    """Scalars in a (possibly nested) JSON list, each of the tensor's type; stops past ``limit``.

    Triton answers 500 to a value of the wrong JSON type, so the gateway checks them here.
    """
    if not any(type(x) is list for x in data):
        _check_values(data, tensor)
        return len(data)
    count, stack, flat = 0, list(data), []
    while stack and count <= limit:
        item = stack.pop()
        if type(item) is list:
            stack.extend(item)
        else:
            flat.append(item)
            count += 1
    _check_values(flat, tensor)
    return count


_NUMBER = frozenset({int, float})
_JSON_TYPES = {"BOOL": frozenset({bool}), "BYTES": frozenset({str})}


def _check_values(values: list[Any], tensor: TensorSpec) -> None:
    allowed = _JSON_TYPES.get(tensor.datatype, _NUMBER)
    if not all(type(x) in allowed for x in values):
        wrong = next(x for x in values if type(x) not in allowed)
        kind = {"BOOL": "true/false", "BYTES": "strings"}.get(tensor.datatype, "numbers")
        raise InvalidRequestError(
            f"input {tensor.name!r} data holds {shown(wrong)}; {tensor.datatype} takes {kind}"
        )
    dtype = DTYPES.get(tensor.datatype)
    if values and dtype is not None and dtype.kind in "iu":
        if not all(type(x) is int for x in values):
            raise InvalidRequestError(f"input {tensor.name!r} data must be integers")
        info = np.iinfo(dtype)
        if min(values) < info.min or max(values) > info.max:
            raise InvalidRequestError(
                f"input {tensor.name!r} data leaves the range of {tensor.datatype} "
                f"[{info.min}, {info.max}]"
            )


def _check_strings(name: str, chunk: bytes, count: int) -> None:
    # BYTES tensors are 4-byte little-endian lengths, each followed by that many bytes
    position, found = 0, 0
    while position < len(chunk) and found <= count:
        if position + 4 > len(chunk):
            break
        (length,) = struct.unpack_from("<I", chunk, position)
        position += 4 + length
        found += 1
    if position != len(chunk) or found != count:
        raise InvalidRequestError(
            f"input {name!r} binary BYTES data does not hold exactly {count} length-prefixed "
            "strings"
        )


def _check_outputs(spec: ModelSpec, outputs: Any) -> None:
    if not isinstance(outputs, list):
        raise InvalidRequestError("'outputs' must be a list of {\"name\": ...} objects")
    names = spec.output_names
    for item in outputs:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidRequestError("every output must be an object with a string 'name'")
        if item["name"] not in names:
            known = ", ".join(sorted(names))
            raise InvalidRequestError(
                f"model {spec.name!r} has no output {item['name']!r}; outputs: {known}"
            )
        if "parameters" in item:
            _check_parameters(item, "output", item["name"])
