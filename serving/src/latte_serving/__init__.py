"""latte's inference gateway: Open Inference Protocol v2 in front of Triton or ONNX Runtime.

The public names below load on first use, so ``import latte_serving`` stays cheap (no
FastAPI, no ONNX Runtime) for callers that only need, say, the Triton helpers.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latte_serving.app import create_app
    from latte_serving.settings import GatewaySettings, hash_api_key
    from latte_serving.triton import TritonProcess, find_tritonserver, shim_repository

__all__ = [
    "GatewaySettings",
    "TritonProcess",
    "__version__",
    "create_app",
    "find_tritonserver",
    "hash_api_key",
    "shim_repository",
]

_LAZY = {
    "create_app": "latte_serving.app",
    "GatewaySettings": "latte_serving.settings",
    "hash_api_key": "latte_serving.settings",
    "TritonProcess": "latte_serving.triton",
    "find_tritonserver": "latte_serving.triton",
    "shim_repository": "latte_serving.triton",
}

try:
    __version__ = version("latte-serving")
except PackageNotFoundError:  # pragma: no cover - a source tree never installed
    __version__ = "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'latte_serving' has no attribute {name!r}")
