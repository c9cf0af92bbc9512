"""Tiny ONNX models in a Triton-layout repository, made with onnx.helper for the tests.

A fast model is one MatMul (features -> 10 classes). ``slow_layers`` adds a chain of square
``width`` x ``width`` MatMuls sharing one weight (a small file, but hundreds of milliseconds
per batch on a CPU): the planted slow model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CONFIG = """name: "{name}"
backend: "onnxruntime"
max_batch_size: 32
input [ {{ name: "input__0" data_type: TYPE_FP32 dims: [ {features} ] }} ]
output [ {{ name: "output__0" data_type: TYPE_FP32 dims: [ 10 ] }} ]
"""


def _graph(features: int, slow_layers: int, width: int) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    nodes, inits, current, size = [], [], "input__0", features
    if slow_layers:
        widen = (rng.standard_normal((size, width)) / np.sqrt(size)).astype(np.float32)
        square = (rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
        inits += [numpy_helper.from_array(widen, "widen"), numpy_helper.from_array(square, "sq")]
        nodes.append(helper.make_node("MatMul", [current, "widen"], ["h0"]))
        current, size = "h0", width
    for i in range(1, slow_layers):
        nodes.append(helper.make_node("MatMul", [current, "sq"], [f"h{i}"]))
        current = f"h{i}"
    head = rng.standard_normal((size, 10)).astype(np.float32)
    inits.append(numpy_helper.from_array(head, "head"))
    nodes.append(helper.make_node("MatMul", [current, "head"], ["output__0"]))
    graph = helper.make_graph(
        nodes,
        "bench_test",
        [helper.make_tensor_value_info("input__0", TensorProto.FLOAT, [None, features])],
        [helper.make_tensor_value_info("output__0", TensorProto.FLOAT, [None, 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_model(
    repository: Path, name: str, features: int, *, slow_layers: int = 0, width: int = 1024
) -> Path:
    folder = repository / name
    (folder / "1").mkdir(parents=True, exist_ok=True)
    onnx.save(_graph(features, slow_layers, width), str(folder / "1" / "model.onnx"))
    (folder / "config.pbtxt").write_text(CONFIG.format(name=name, features=features))
    return folder
