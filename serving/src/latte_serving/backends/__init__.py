"""Serving backends behind one protocol, chosen by name."""

from latte_serving.backends.base import Backend
from latte_serving.backends.batcher import Batch, DynamicBatcher
from latte_serving.backends.local import LocalBackend, onnx_models
from latte_serving.backends.triton import TritonBackend

__all__ = [
    "BACKENDS",
    "Backend",
    "Batch",
    "DynamicBatcher",
    "LocalBackend",
    "TritonBackend",
    "onnx_models",
]

# name -> implementation; "auto" in the settings resolves to one of these
BACKENDS: dict[str, type[LocalBackend] | type[TritonBackend]] = {
    "local": LocalBackend,
    "triton": TritonBackend,
}
