"""latte's inference gateway: Open Inference Protocol v2 in front of Triton or ONNX Runtime.

Public surface: :func:`create_app` (in ``latte_serving.app``), :class:`GatewaySettings`,
the Triton helpers in ``latte_serving.triton``. Importing this package does no work and
imports neither FastAPI nor ONNX Runtime.
"""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("latte-serving")
except PackageNotFoundError:  # pragma: no cover - a source tree never installed
    __version__ = "0.0.0+unknown"
