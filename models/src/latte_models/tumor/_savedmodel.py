"""The TF Serving export of tumor: a byte-stable SavedModel.

Keras' own SavedModel export orders variables by object identity and names functions after a
process-wide counter, so two builds differ in bytes. Here the served computation (the same
two dense layers as the Keras model, checked against it by the caller) is saved from a plain
``tf.Module`` holding the weights in a fixed order, and the counter-derived names in
saved_model.pb are renumbered in order of appearance.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

__all__ = ["write_saved_model"]

# function names like __inference_serve_655 carry a process-wide counter
_FUNCTION = re.compile(r"(__(?:inference|forward|backward)_\w*?_)(\d+)\b")
# captured-variable arguments are "user specified" by a counter value as well
_CAPTURE = re.compile(r'(key: "_user_specified_name"\s*value \{\s*s: )"(\d+)"')
_LAYERS = ("hidden", "malignant")


def write_saved_model(tf: Any, model: Any, input_name: str, output_name: str, folder: Path) -> None:
    """Save ``model`` (Keras, dense relu -> dense sigmoid) for TF Serving in ``folder``."""
    module = tf.Module()
    weights = [w for layer in _LAYERS for w in model.get_layer(layer).get_weights()]
    names = ("hidden_kernel", "hidden_bias", "malignant_kernel", "malignant_bias")
    module.weights = [
        tf.Variable(w, trainable=False, name=n) for w, n in zip(weights, names, strict=True)
    ]
    width = int(weights[0].shape[0])

    def forward(features: Any) -> dict[str, Any]:
        kernel, bias, out_kernel, out_bias = module.weights
        hidden = tf.nn.relu(tf.matmul(features, kernel) + bias)
        return {output_name: tf.sigmoid(tf.matmul(hidden, out_kernel) + out_bias)}

    # plain graph ops, so no autograph rewrite is needed
    serve = tf.function(
        forward,
        input_signature=[tf.TensorSpec([None, width], tf.float32, name=input_name)],
        autograph=False,
    )
    module.serve = serve
    tf.saved_model.save(module, str(folder), signatures={"serving_default": serve})
    # fingerprint.pb holds a random UUID; TF Serving does not need the file
    (folder / "fingerprint.pb").unlink(missing_ok=True)
    _canonicalize(folder / "saved_model.pb")


def _canonicalize(path: Path) -> None:
    saved_model_pb2 = importlib.import_module("tensorflow.core.protobuf.saved_model_pb2")
    text_format = importlib.import_module("google.protobuf.text_format")
    message = saved_model_pb2.SavedModel()
    message.ParseFromString(path.read_bytes())
    text = _renumber(text_format.MessageToString(message))
    stable = saved_model_pb2.SavedModel()
    text_format.Parse(text, stable)
    for graph in stable.meta_graphs:
        # the function library is kept sorted by name; renaming changed the order
        functions = sorted(graph.graph_def.library.function, key=lambda f: f.signature.name)
        del graph.graph_def.library.function[:]
        graph.graph_def.library.function.extend(functions)
    path.write_bytes(stable.SerializeToString(deterministic=True))


def _renumber(text: str) -> str:
    functions: dict[str, int] = {}
    captures: dict[str, int] = {}

    def function(match: re.Match[str]) -> str:
        number = functions.setdefault(match.group(0), len(functions))
        return f"{match.group(1)}{number}"

    def capture(match: re.Match[str]) -> str:
        number = captures.setdefault(match.group(2), len(captures))
        return f'{match.group(1)}"{number}"'

    return _CAPTURE.sub(capture, _FUNCTION.sub(function, text))
