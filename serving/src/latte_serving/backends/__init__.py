"""Serving backends behind one protocol, chosen by name from :data:`BACKENDS`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from latte_serving.backends.base import Backend
from latte_serving.backends.batcher import Batch, DynamicBatcher
from latte_serving.backends.local import BatchObserver, LocalBackend, onnx_models
from latte_serving.backends.triton import TritonBackend
from latte_serving.repository import ModelSpec

if TYPE_CHECKING:
    from latte_serving.settings import GatewaySettings

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendFactory",
    "Batch",
    "DynamicBatcher",
    "LocalBackend",
    "TritonBackend",
    "create_backend",
    "onnx_models",
]

BackendFactory = Callable[["GatewaySettings", Mapping[str, ModelSpec], BatchObserver], Any]

# name -> how to build it from the settings; "auto" in the settings resolves to one of these
BACKENDS: dict[str, BackendFactory] = {
    "local": LocalBackend.from_settings,
    "triton": TritonBackend.from_settings,
}


def create_backend(
    settings: GatewaySettings, models: Mapping[str, ModelSpec], on_batch: BatchObserver
) -> Backend:
    """The backend the settings name, built by its entry in :data:`BACKENDS`."""
    backend: Backend = BACKENDS[settings.resolved_backend()](settings, models, on_batch)
    return backend
