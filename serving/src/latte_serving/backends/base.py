"""The serving backend protocol: what the gateway needs from Triton or in-process ONNX Runtime."""

from __future__ import annotations

from typing import Protocol

from latte_serving.codec import EncodedResponse, InferRequest

__all__ = ["Backend"]


class Backend(Protocol):
    """Runs inference for validated requests on one model version."""

    name: str

    async def start(self) -> None:
        """Connect or load models; called once when the app starts."""

    async def stop(self) -> None:
        """Finish queued work and release resources; called once on shutdown."""

    async def ready(self, model: str, version: int) -> bool:
        """Whether this version can answer right now."""

    async def infer(self, model: str, version: int, request: InferRequest) -> EncodedResponse:
        """Answer one request, or raise BackendError / InvalidRequestError."""
