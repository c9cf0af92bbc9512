"""Serving backends behind one protocol, chosen by name from :data:`BACKENDS`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from latte_serving.backends.base import Backend
from latte_serving.backends.batcher import Batch, DynamicBatcher
from latte_serving.backends.local import BatchObserver, LocalBackend, onnx_models
from latte_serving.backends.runtimes import RuntimeBackend
from latte_serving.backends.tfserving import TfServingBackend
from latte_serving.backends.triton import TritonBackend
from latte_serving.repository import ModelSpec

if TYPE_CHECKING:
    from latte_serving.settings import GatewaySettings

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendFactory",
    "Batch",
    "Discoverer",
    "DynamicBatcher",
    "LocalBackend",
    "RuntimeBackend",
    "TfServingBackend",
    "TritonBackend",
    "create_backend",
    "discoverers",
    "onnx_models",
]

BackendFactory = Callable[["GatewaySettings", Mapping[str, ModelSpec], BatchObserver], Any]

# name -> how to build it from the settings; "auto" in the settings resolves to one of these
BACKENDS: dict[str, BackendFactory] = {
    "local": LocalBackend.from_settings,
    "triton": TritonBackend.from_settings,
    "tfserving": TfServingBackend.from_settings,
}


class Discoverer(Protocol):
    """A backend that tells the gateway its models at startup (no local repository)."""

    name: str
    url: str
    discovery_hint: str

    async def discover(self) -> dict[str, ModelSpec]: ...


def create_backend(
    settings: GatewaySettings, models: Mapping[str, ModelSpec], on_batch: BatchObserver
) -> Backend:
    """The backend the settings name, built by its entry in :data:`BACKENDS`.

    Models mapped to tfserving (``model_runtimes``) go to TF Serving instead, and the
    settings' backend gets only the others.
    """
    on_tfserving = settings.tfserving_models()
    own = {name: spec for name, spec in models.items() if name not in on_tfserving}
    backend: Backend = BACKENDS[settings.resolved_backend()](settings, own, on_batch)
    if not on_tfserving:
        return backend
    return RuntimeBackend(backend, BACKENDS["tfserving"](settings, models, on_batch))


def discoverers(backend: Backend, *, triton: bool) -> list[Discoverer]:
    """The backends whose models the gateway learns at startup, in the order to ask them:
    Triton (when ``triton``, i.e. there is no local repository), then TF Serving."""
    parts = (
        [backend.default, backend.tfserving] if isinstance(backend, RuntimeBackend) else [backend]
    )
    found: list[Discoverer] = []
    for part in parts:
        if (isinstance(part, TritonBackend) and triton) or isinstance(part, TfServingBackend):
            found.append(part)
    return found
