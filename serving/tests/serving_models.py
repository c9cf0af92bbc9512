"""Tiny ONNX models and a Triton model repository, made with onnx.helper (no torch, no TF)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

WEIGHTS = np.arange(12, dtype=np.float32).reshape(4, 3) / 10

TINY_CONFIG = """name: "tiny"
platform: "onnxruntime_onnx"
max_batch_size: 8
version_policy: { all: {} }
input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 3 ] } ]
dynamic_batching { max_queue_delay_microseconds: 2000 }
instance_group [ { kind: KIND_GPU count: 1 } ]
"""

PLAIN_CONFIG = """name: "plain"
backend: "onnxruntime"
max_batch_size: 0
input [ { name: "X" data_type: TYPE_INT64 dims: [ 2, 2 ] } ]
output [ { name: "Y" data_type: TYPE_INT64 dims: [ 2, 2 ] } ]
"""


# a variable dimension: what a client's shape claims is what a backend would allocate
WIDE_CONFIG = """name: "wide"
platform: "onnxruntime_onnx"
max_batch_size: 4
input [ { name: "X" data_type: TYPE_FP32 dims: [ -1 ] } ]
output [ { name: "Y" data_type: TYPE_FP32 dims: [ -1 ] } ]
"""


def _save(graph: onnx.GraphProto, path: Path) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)


def _io(name: str, kind: int, shape: list[object]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, kind, shape)


def matmul_model(path: Path, scale: float) -> None:
    """OUTPUT__0 = INPUT__0 @ (WEIGHTS * scale), batch dimension N."""
    weights = helper.make_tensor("W", TensorProto.FLOAT, [4, 3], (WEIGHTS * scale).ravel())
    node = helper.make_node("MatMul", ["INPUT__0", "W"], ["OUTPUT__0"])
    graph = helper.make_graph(
        [node],
        "tiny",
        [_io("INPUT__0", TensorProto.FLOAT, ["N", 4])],
        [_io("OUTPUT__0", TensorProto.FLOAT, ["N", 3])],
        [weights],
    )
    _save(graph, path)


def broken_model(path: Path) -> None:
    """Loads fine but fails on every run: Gather with an index past the row's end."""
    indices = helper.make_tensor("idx", TensorProto.INT64, [3], [0, 1, 7])
    node = helper.make_node("Gather", ["INPUT__0", "idx"], ["OUTPUT__0"], axis=1)
    graph = helper.make_graph(
        [node],
        "broken",
        [_io("INPUT__0", TensorProto.FLOAT, ["N", 4])],
        [_io("OUTPUT__0", TensorProto.FLOAT, ["N", 3])],
        [indices],
    )
    _save(graph, path)


def plain_model(path: Path) -> None:
    """Y = X + X for a fixed [2, 2] INT64 tensor (a model that does not batch)."""
    node = helper.make_node("Add", ["X", "X"], ["Y"])
    graph = helper.make_graph(
        [node],
        "plain",
        [_io("X", TensorProto.INT64, [2, 2])],
        [_io("Y", TensorProto.INT64, [2, 2])],
    )
    _save(graph, path)


def wide_model(path: Path) -> None:
    """Y = X * 2 for X of shape [N, D], D any size."""
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    node = helper.make_node("Mul", ["X", "two"], ["Y"])
    graph = helper.make_graph(
        [node],
        "wide",
        [_io("X", TensorProto.FLOAT, ["N", "D"])],
        [_io("Y", TensorProto.FLOAT, ["N", "D"])],
        [two],
    )
    _save(graph, path)


def write_repository(root: Path, *, wide: bool = False) -> Path:
    """tiny v1 (x1), v2 (x2), v3 (broken), v4 (x4); plain v1; with ``wide``, wide v1 (x2).

    The layout 'latte build' exports."""
    if wide:
        wide_model(root / "wide" / "1" / "model.onnx")
        (root / "wide" / "config.pbtxt").write_text(WIDE_CONFIG)
    matmul_model(root / "tiny" / "1" / "model.onnx", 1.0)
    matmul_model(root / "tiny" / "2" / "model.onnx", 2.0)
    broken_model(root / "tiny" / "3" / "model.onnx")
    matmul_model(root / "tiny" / "4" / "model.onnx", 4.0)
    (root / "tiny" / "config.pbtxt").write_text(TINY_CONFIG)
    plain_model(root / "plain" / "1" / "model.onnx")
    (root / "plain" / "config.pbtxt").write_text(PLAIN_CONFIG)
    return root


def run_onnx(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """What ONNX Runtime computes straight from the model file (the reference result)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


BINARY_CONFIG = """name: "binary"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "features" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "positive_probability" data_type: TYPE_FP32 dims: [ 1 ] } ]
"""


def binary_model(path: Path) -> None:
    """positive_probability = sigmoid(features @ w): a one-probability classifier like tumor."""
    weights = helper.make_tensor("W", TensorProto.FLOAT, [4, 1], [1.0, -1.0, 0.5, -0.5])
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "W"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["positive_probability"]),
        ],
        "binary",
        [_io("features", TensorProto.FLOAT, ["N", 4])],
        [_io("positive_probability", TensorProto.FLOAT, ["N", 1])],
        [weights],
    )
    _save(graph, path)
