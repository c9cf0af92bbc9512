"""Tensors in and out of a validated request, for backends that compute in process.

Binary inputs are numpy views on the request body (no copy); outputs are encoded as JSON
``data`` lists or appended binary, as each requested output (or the request's
``binary_data_output``) asks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from latte_serving.codec import DTYPES, EncodedResponse, InferRequest
from latte_serving.errors import InvalidRequestError
from latte_serving.repository import ModelSpec

__all__ = ["decode_inputs", "encode_response"]


def decode_inputs(spec: ModelSpec, request: InferRequest) -> dict[str, np.ndarray[Any, Any]]:
    """Numpy arrays for a validated request (binary slices or JSON data)."""
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    offset = 0
    binary = request.binary
    types = {tensor.name: tensor.datatype for tensor in spec.inputs}
    for item in request.header["inputs"]:
        datatype = types[item["name"]]
        if datatype not in DTYPES:
            raise InvalidRequestError(f"{datatype} tensors are not supported by this backend")
        dtype, shape = DTYPES[datatype], item["shape"]
        size = (item.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            array = np.frombuffer(binary, dtype=dtype, count=math.prod(shape), offset=offset)
            offset += size
        else:
            array = _from_json(item["data"], dtype, item["name"])
        arrays[item["name"]] = _reshape(array, shape, item["name"])
    return arrays


def _from_json(data: list[Any], dtype: np.dtype[Any], name: str) -> np.ndarray[Any, Any]:
    try:
        return np.asarray(data, dtype=dtype).reshape(-1)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidRequestError(f"input {name!r} data does not fit {dtype}: {exc}") from exc


def _reshape(array: np.ndarray[Any, Any], shape: list[int], name: str) -> np.ndarray[Any, Any]:
    if array.size != math.prod(shape):
        raise InvalidRequestError(
            f"input {name!r} carries {array.size} values; shape {shape} needs {math.prod(shape)}"
        )
    return array.reshape(shape)


def encode_response(
    model: str,
    version: int,
    request: InferRequest,
    outputs: Mapping[str, np.ndarray[Any, Any]],
) -> EncodedResponse:
    """Encode outputs as JSON, or binary where the request asked for it."""
    wanted = _wanted_outputs(request, outputs)
    entries: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, binary in wanted.items():
        array = outputs[name]
        entry: dict[str, Any] = {
            "name": name,
            "datatype": _datatype(array),
            "shape": list(array.shape),
        }
        if binary:
            chunk = np.ascontiguousarray(array).tobytes()
            entry["parameters"] = {"binary_data_size": len(chunk)}
            chunks.append(chunk)
        else:
            entry["data"] = array.reshape(-1).tolist()
        entries.append(entry)
    header: dict[str, Any] = {"model_name": model, "model_version": str(version)}
    if request.request_id:
        header["id"] = request.request_id
    header["outputs"] = entries
    text = json.dumps(header, separators=(",", ":")).encode()
    if not chunks:
        return EncodedResponse(text)
    return EncodedResponse(text + b"".join(chunks), header_length=len(text))


def _wanted_outputs(
    request: InferRequest, outputs: Mapping[str, np.ndarray[Any, Any]]
) -> dict[str, bool]:
    parameters = request.header.get("parameters") or {}
    default_binary = bool(isinstance(parameters, dict) and parameters.get("binary_data_output"))
    asked = request.header.get("outputs") or []
    if not asked:
        return dict.fromkeys(outputs, default_binary)
    wanted: dict[str, bool] = {}
    for item in asked:
        params = item.get("parameters") or {}
        wanted[item["name"]] = bool(params.get("binary_data", default_binary))
    return wanted


def _datatype(array: np.ndarray[Any, Any]) -> str:
    for name, dtype in DTYPES.items():
        if array.dtype == dtype:
            return name
    return "BYTES"
