"""Tiny real ONNX models (onnx.helper, no torch): each answers 4 x its scale for input 1s."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["BODY", "CONFIG", "scale_tree"]

CONFIG = """name: "{name}"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ {{ name: "INPUT__0" data_type: TYPE_FP32 dims: [ 4 ] }} ]
output [ {{ name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 1 ] }} ]
instance_group [ {{ kind: KIND_GPU count: 1 }} ]
"""
BODY = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]}]}


def scale_tree(root: Path, scale: float, name: str = "tiny", padding: int = 0) -> Path:
    """An exported tree whose model sums its 4 inputs times ``scale`` (so answers name it);
    ``padding`` random bytes beside it stand in for a model's weight size."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

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
    if padding:
        (root / "1" / "weights.bin").write_bytes(os.urandom(padding))
    (root / "config.pbtxt").write_text(CONFIG.format(name=name))
    return root
