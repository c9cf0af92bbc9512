"""What a classifier answered: the predicted class and top-class confidence of each row.

The gateway never looks inside tensors on the way to the client; to join delayed labels to
its answers it decodes only the model's first output from the encoded response (JSON data
or the binary extension). A model is a classifier here when that output is ``[batch, C]``
floats: ``C > 1`` is a score per class (argmax), ``C == 1`` is the positive class's
probability, called at the model's threshold (the build's own decision rule, e.g. tumor's
0.2), as ``latte_models`` evaluates it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from latte_serving.codec import EncodedResponse
from latte_serving.repository import ModelSpec

__all__ = ["Classifier", "Prediction", "classifier_for"]

_FLOATS = {"FP16", "FP32", "FP64"}
# memoryview.cast formats (native order: the binary extension is little-endian, as is x86/arm)
_FORMATS = {"FP16": "e", "FP32": "f", "FP64": "d"}
_SIZES = {"FP16": 2, "FP32": 4, "FP64": 8}


@dataclasses.dataclass(frozen=True)
class Prediction:
    """Predicted class and top-class confidence per row of one answer."""

    classes: tuple[int, ...]
    confidences: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class Classifier:
    """How to read one model's answers as class predictions."""

    model: str
    output: str
    classes: int  # number of classes (2 for a single-probability output)
    threshold: float = 0.5  # single-probability outputs only
    # the output's row width and datatype when it is the model's only output: then a binary
    # answer is the JSON header followed by exactly this tensor, read without parsing JSON
    sole: tuple[int, str] | None = None

    def decode(self, response: EncodedResponse) -> Prediction | None:
        """The prediction in ``response``; None when it does not hold the expected output."""
        decoded = self._sole_binary(response) or _output(response, self.output)
        if decoded is None:
            return None
        values, width = decoded
        if width == 1:
            classes = tuple(int(p >= self.threshold) for p in values)
            confidences = tuple(p if c else 1.0 - p for p, c in zip(values, classes, strict=True))
        elif width == self.classes:
            rows = [values[i : i + width] for i in range(0, len(values), width)]
            classes = tuple(max(range(width), key=row.__getitem__) for row in rows)
            confidences = tuple(_top_probability(row) for row in rows)
        else:
            return None
        return Prediction(classes, tuple(min(max(p, 0.0), 1.0) for p in confidences))

    def _sole_binary(self, response: EncodedResponse) -> tuple[list[float], int] | None:
        # the hot path: json.loads of Triton's header costs more than everything else here
        if self.sole is None or response.header_length is None:
            return None
        width, datatype = self.sole
        tail = len(response.body) - response.header_length
        if tail <= 0 or tail % (width * _SIZES[datatype]):
            return None
        view = memoryview(response.body)[response.header_length :]
        values: list[float] = view.cast(_FORMATS[datatype]).tolist()  # type: ignore[call-overload]
        return values, width


def classifier_for(spec: ModelSpec, threshold: float = 0.5) -> Classifier | None:
    """A classifier for models whose first output is ``[batch, C]`` floats, else None."""
    if not spec.outputs or not spec.batched:
        return None
    output = spec.outputs[0]
    if output.datatype not in _FLOATS or len(output.dims) != 1 or output.dims[0] < 1:
        return None
    width = int(output.dims[0])
    sole = (width, output.datatype) if len(spec.outputs) == 1 else None
    return Classifier(spec.name, output.name, max(width, 2), threshold, sole)


def _top_probability(row: list[float]) -> float:
    # a softmax output is read as it is; logits get one (plain Python: rows are short, and
    # numpy's per-call cost on a 10-element row is several times the arithmetic)
    top = max(row)
    if min(row) >= 0 and abs(sum(row) - 1.0) <= 1e-3:
        return top
    return 1.0 / sum(math.exp(v - top) for v in row)


def _output(response: EncodedResponse, name: str) -> tuple[list[float], int] | None:
    length = response.header_length
    try:
        header = json.loads(response.body if length is None else response.body[:length])
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    outputs = header.get("outputs") if isinstance(header, dict) else None
    if not isinstance(outputs, list):
        return None
    offset = length or 0
    for item in outputs:
        if not isinstance(item, Mapping):
            return None
        size = _binary_size(item)
        if item.get("name") == name:
            return _array(item, response.body, offset, size)
        offset += size
    return None


def _binary_size(item: Mapping[str, Any]) -> int:
    parameters = item.get("parameters")
    size = parameters.get("binary_data_size", 0) if isinstance(parameters, Mapping) else 0
    return size if isinstance(size, int) and size >= 0 else 0


def _array(
    item: Mapping[str, Any], body: bytes, offset: int, size: int
) -> tuple[list[float], int] | None:
    """The output's values, flat, and its row width; None unless it is ``[rows, width]``."""
    shape, datatype = item.get("shape"), item.get("datatype")
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(isinstance(d, int) and d > 0 for d in shape)
        or datatype not in _FORMATS
    ):
        return None
    if size:
        view = memoryview(body)[offset : offset + size]
        if len(view) != size or size % _SIZES[datatype]:
            return None
        values: list[float] = view.cast(_FORMATS[datatype]).tolist()  # type: ignore[call-overload]
    else:
        data = item.get("data")
        if not isinstance(data, list) or not all(isinstance(v, int | float) for v in data):
            return None
        values = [float(v) for v in data]
    return (values, shape[1]) if len(values) == shape[0] * shape[1] else None
