"""latte: build, serve and ship ML models on Kubernetes."""

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # Looked up on first use (PEP 562): importlib.metadata costs ~90 ms, and every `latte`
    # command imports this package while only --version needs the number.
    if name != "__version__":
        raise AttributeError(f"module 'latte' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("latte-platform")
    except PackageNotFoundError:  # pragma: no cover - a source tree never installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
