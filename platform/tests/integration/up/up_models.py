"""Tiny real ONNX models (onnx.helper, no torch) registered as a build would register them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

CONFIG = """name: "{name}"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ {{ name: "INPUT__0" data_type: TYPE_FP32 dims: [ 4 ] }} ]
output [ {{ name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 1 ] }} ]
instance_group [ {{ kind: KIND_GPU count: 1 }} ]
"""
BODY = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]}]}


def scale_tree(root: Path, scale: float, name: str = "tiny") -> Path:
    """An exported tree whose model sums its 4 inputs times ``scale`` (so answers name it)."""
    weights = helper.make_tensor("W", TensorProto.FLOAT, [4, 1], np.full(4, scale, np.float32))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["INPUT__0", "W"], ["OUTPUT__0"])],
        name,
        [helper.make_tensor_value_info("INPUT__0", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("OUTPUT__0", TensorProto.FLOAT, ["N", 1])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    (root / "1").mkdir(parents=True)
    onnx.save(model, root / "1" / "model.onnx")
    (root / "config.pbtxt").write_text(CONFIG.format(name=name))
    return root
