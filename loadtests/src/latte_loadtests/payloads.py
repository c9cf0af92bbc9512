"""Pre-encoded Open Inference Protocol requests, built once before any load is sent.

Encoding a body costs more than the server takes to answer a small model, so the Locust
users only pick a ready body from a pool: the load generator measures the server, not numpy.
Rows come from the model's test split (scikit-learn's bundled data sets need no download).
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from latte_loadtests.errors import BenchUsageError

__all__ = [
    "DATASETS",
    "Encoding",
    "InputSpec",
    "RequestBody",
    "build_pool",
    "built_test_rows",
    "encode_binary",
    "encode_json",
    "held_out_rows",
]

Encoding = str  # "binary" (the binary tensor extension) or "json"
_DTYPES = {"FP32": np.float32, "FP64": np.float64, "FP16": np.float16, "INT64": np.int64}


Labelled = tuple[npt.NDArray[Any], npt.NDArray[Any]]


def _digits() -> Labelled:
    from sklearn.datasets import load_digits

    data = load_digits()
    return np.asarray(data.data), np.asarray(data.target)


def _breast_cancer() -> Labelled:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return np.asarray(data.data), np.asarray(data.target)


# dataset name in slo.toml -> loader of (features, labels); sklearn is imported lazily (slow)
DATASETS: dict[str, Callable[[], Labelled]] = {
    "digits": _digits,
    "breast_cancer": _breast_cancer,
}


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """The model's single input as the server's metadata endpoint declares it."""

    name: str
    datatype: str
    shape: tuple[int, ...]  # -1 marks the batch dimension

    @classmethod
    def from_metadata(cls, model: str, metadata: Mapping[str, Any]) -> InputSpec:
        inputs = metadata.get("inputs") or []
        if len(inputs) != 1:
            raise BenchUsageError(
                f"model {model!r} declares {len(inputs)} inputs; the benchmark drives "
                "single-input models only"
            )
        item = inputs[0]
        return cls(str(item["name"]), str(item["datatype"]), tuple(int(d) for d in item["shape"]))

    @property
    def batched(self) -> bool:
        return bool(self.shape) and self.shape[0] == -1


@dataclasses.dataclass(frozen=True)
class RequestBody:
    body: bytes
    headers: Mapping[str, str]
    rows: int


def built_test_rows(path: Path) -> npt.NDArray[Any] | None:
    """The held-out features the build wrote (``test_split.npz``), or None when there is no
    build of the model here (a remote target): then :func:`held_out_rows` derives them."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return np.asarray(archive["x"])
    except (OSError, ValueError, KeyError) as exc:
        raise BenchUsageError(
            f"{path} is not a test split written by 'latte build' ({exc}); rebuild the model"
        ) from exc


def held_out_rows(dataset: str, *, test_fraction: float, seed: int) -> npt.NDArray[Any]:
    """The test split the model was evaluated on.

    The same stratified ``train_test_split`` call, seed and fraction as latte_models' split,
    so the benchmark sends the rows the model was held out on.
    """
    from sklearn.model_selection import train_test_split

    if dataset not in DATASETS:
        raise BenchUsageError(f"unknown dataset {dataset!r}; known: {', '.join(sorted(DATASETS))}")
    features, labels = DATASETS[dataset]()
    rows = np.arange(len(labels))
    _, test = train_test_split(rows, test_size=test_fraction, random_state=seed, stratify=labels)
    return np.asarray(features[np.sort(test)])


def encode_json(spec: InputSpec, rows: npt.NDArray[Any]) -> RequestBody:
    payload = {"inputs": [_tensor(spec, rows) | {"data": rows.ravel().tolist()}]}
    body = json.dumps(payload, separators=(",", ":")).encode()
    return RequestBody(body, {"Content-Type": "application/json"}, _rows(spec, rows))


def encode_binary(spec: InputSpec, rows: npt.NDArray[Any]) -> RequestBody:
    """The binary tensor extension: JSON header, then raw little-endian tensor bytes."""
    raw = np.ascontiguousarray(rows).tobytes()
    tensor = _tensor(spec, rows) | {"parameters": {"binary_data_size": len(raw)}}
    header = json.dumps(
        {"inputs": [tensor], "parameters": {"binary_data_output": True}}, separators=(",", ":")
    ).encode()
    headers = {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(header)),
    }
    return RequestBody(header + raw, headers, _rows(spec, rows))


def _rows(spec: InputSpec, rows: npt.NDArray[Any]) -> int:
    return len(rows) if spec.batched else 1


def _tensor(spec: InputSpec, rows: npt.NDArray[Any]) -> dict[str, Any]:
    return {"name": spec.name, "shape": list(rows.shape), "datatype": spec.datatype}


def build_pool(
    spec: InputSpec,
    features: npt.NDArray[Any],
    *,
    batch_sizes: tuple[int, ...],
    encoding: Encoding,
    size: int = 64,
    seed: int = 0,
) -> list[RequestBody]:
    """``size`` bodies whose batch sizes and rows are drawn (seeded) from the test split."""
    if spec.datatype not in _DTYPES:
        raise BenchUsageError(
            f"input {spec.name!r} has datatype {spec.datatype}; supported: {sorted(_DTYPES)}"
        )
    features = _fit(spec, features).astype(_DTYPES[spec.datatype])
    encode = {"binary": encode_binary, "json": encode_json}[encoding]
    rng = random.Random(seed)  # noqa: S311 - sampling rows, not security
    pool = []
    for _ in range(size):
        # a model without a batch dimension takes exactly one row, shaped as declared
        batch = rng.choice(batch_sizes) if spec.batched else 1
        picked = [rng.randrange(len(features)) for _ in range(batch)]
        rows = features[picked] if spec.batched else features[picked[0]]
        pool.append(encode(spec, rows))
    return pool


def _fit(spec: InputSpec, features: npt.NDArray[Any]) -> npt.NDArray[Any]:
    per_row = spec.shape[1:] if spec.batched else spec.shape
    width = int(np.prod(per_row)) if per_row else 1
    if features.shape[1] != width:
        raise BenchUsageError(
            f"input {spec.name!r} takes {width} features per row ({list(spec.shape)}) but the "
            f"data set has {features.shape[1]}; check the model's dataset in slo.toml"
        )
    return features.reshape(len(features), *per_row)
