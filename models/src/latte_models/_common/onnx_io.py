"""ONNX helpers: read the graph's signature, name its tensors, run it with ONNX Runtime."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["TensorSpec", "latency_ms", "rename_io", "run_onnx", "signature", "time_calls"]

# ONNX TensorProto element types -> Triton data types (only those our models use)
_TRITON_TYPES = {1: "TYPE_FP32", 6: "TYPE_INT32", 7: "TYPE_INT64", 11: "TYPE_FP64"}


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: name, Triton dtype, dims with -1 for a dynamic axis."""

    name: str
    data_type: str
    dims: tuple[int, ...]


def signature(path: Path) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Inputs and outputs of the ONNX model at ``path``, as Triton would see them."""
    import onnx

    graph = onnx.load(str(path)).graph
    return [_spec(v) for v in graph.input], [_spec(v) for v in graph.output]


def _spec(value: Any) -> TensorSpec:
    tensor = value.type.tensor_type
    dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim)
    return TensorSpec(value.name, _TRITON_TYPES.get(tensor.elem_type, "TYPE_INVALID"), dims)


def rename_io(path: Path, *, inputs: dict[str, str], outputs: dict[str, str]) -> None:
    """Give the graph's inputs/outputs stable names (exporters invent ones like
    ``Identity:0``), call the leading dynamic axis ``batch``, and drop constants listed as
    inputs (tf2onnx lists initializers there; Triton would expose them as model inputs)."""
    import onnx

    model = onnx.load(str(path))
    constants = {tensor.name for tensor in model.graph.initializer}
    kept = [value for value in model.graph.input if value.name not in constants]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    mapping = {**inputs, **outputs}
    for node in model.graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]
    for value in [*model.graph.input, *model.graph.output]:
        value.name = mapping.get(value.name, value.name)
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = "batch"
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _session(path: Path) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # one thread: deterministic numbers and a fair share of a small shared machine
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(path: Path, x: NDArray[np.float32]) -> NDArray[np.float32]:
    """The model's first output for the batch ``x``."""
    session = _session(path)
    feed = {session.get_inputs()[0].name: x}
    return np.asarray(session.run(None, feed)[0], dtype=np.float32)


def latency_ms(path: Path, sample: NDArray[np.float32], runs: int = 200) -> dict[str, float]:
    """ONNX Runtime single-batch latency: one row per call; median, p95 and mean (ms)."""
    session = _session(path)
    feed = {session.get_inputs()[0].name: sample[:1]}
    return time_calls(lambda: session.run(None, feed), runs)


def time_calls(call: Callable[[], object], runs: int = 200) -> dict[str, float]:
    """Time ``call`` ``runs`` times after a warm-up of 10 calls."""
    for _ in range(10):
        call()
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return {
        "batch_size": 1.0,
        "runs": float(runs),
        "p50_ms": round(statistics.median(times), 4),
        "p95_ms": round(times[int(0.95 * (runs - 1))], 4),
        "mean_ms": round(statistics.fmean(times), 4),
    }
