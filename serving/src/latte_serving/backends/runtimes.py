"""One gateway, two runtimes: models mapped to tfserving go to TF Serving, the rest to the
gateway's own backend (Triton or local), behind the same routing, fallback and metrics."""

from __future__ import annotations

from latte_serving.backends.base import Backend
from latte_serving.backends.tfserving import TfServingBackend
from latte_serving.codec import EncodedResponse, InferRequest

__all__ = ["RuntimeBackend"]


class RuntimeBackend:
    """Dispatch each call by model name to the backend of that model's runtime."""

    def __init__(self, default: Backend, tfserving: TfServingBackend) -> None:
        self.default = default
        self.tfserving = tfserving
        self.name = f"{default.name}+{tfserving.name}"
        self._on_tfserving = frozenset(tfserving.models)

    def backend_for(self, model: str) -> Backend:
        return self.tfserving if model in self._on_tfserving else self.default

    async def start(self) -> None:
        await self.default.start()
        await self.tfserving.start()

    async def stop(self) -> None:
        try:
            await self.default.stop()
        finally:
            await self.tfserving.stop()

    async def ready(self, model: str, version: int) -> bool:
        return await self.backend_for(model).ready(model, version)

    async def infer(self, model: str, version: int, request: InferRequest) -> EncodedResponse:
        return await self.backend_for(model).infer(model, version, request)
