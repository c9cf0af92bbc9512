"""The ``/v2/models/...`` routes: metadata, readiness, config and inference."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from latte_serving.gateway import Gateway, version_number
from latte_serving.repository import ModelSpec

__all__ = ["INFER_OPENAPI", "add_model_routes"]

_TENSOR = {
    "type": "object",
    "required": ["name", "datatype", "shape"],
    "properties": {
        "name": {"type": "string"},
        "datatype": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer"}},
        "parameters": {"type": "object"},
        "data": {"type": "array"},
    },
}
# The body is read raw (JSON, or JSON + binary tensors), so its schema is documented by hand.
INFER_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": {"type": "object"},
                        "inputs": {"type": "array", "items": _TENSOR},
                        "outputs": {"type": "array", "items": {"type": "object"}},
                    },
                }
            }
        },
    }
}


def add_model_routes(app: FastAPI, gateway: Gateway) -> None:
    """Register metadata, ready, config and infer, each with and without a version."""

    async def metadata(model: str, version: str | None = None) -> dict[str, Any]:
        return _metadata(gateway.spec(model, version), version)

    async def ready(model: str, version: str | None = None) -> Response:
        spec = gateway.spec(model, version)
        versions = [version_number(version)] if version else gateway.routing.route(model).versions
        if not await gateway.versions_ready((spec.name, number) for number in versions):
            return JSONResponse({"error": f"{model} {list(versions)} not ready in time"}, 503)
        return JSONResponse({"name": model, "ready": True})

    async def config(model: str, version: str | None = None) -> dict[str, Any]:
        return _config(gateway.spec(model, version))

    async def infer(request: Request, model: str, version: str | None = None) -> Response:
        """Declared for the OpenAPI document; InferFastPath answers it before routing."""
        raise AssertionError("POST .../infer is served by InferFastPath")

    for prefix in ("/v2/models/{model}", "/v2/models/{model}/versions/{version}"):
        app.add_api_route(prefix, metadata, methods=["GET"])
        app.add_api_route(f"{prefix}/ready", ready, methods=["GET"])
        app.add_api_route(f"{prefix}/config", config, methods=["GET"])
        app.add_api_route(f"{prefix}/infer", infer, methods=["POST"], openapi_extra=INFER_OPENAPI)


def _metadata(spec: ModelSpec, version: str | None) -> dict[str, Any]:
    def tensors(items: Any) -> list[dict[str, Any]]:
        return [
            {"name": t.name, "datatype": t.datatype, "shape": t.shape(spec.batched)} for t in items
        ]

    return {
        "name": spec.name,
        "versions": [str(v) for v in spec.versions] if version is None else [version],
        "platform": spec.platform or spec.backend,
        "inputs": tensors(spec.inputs),
        "outputs": tensors(spec.outputs),
    }


def _config(spec: ModelSpec) -> dict[str, Any]:
    def tensors(items: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": t.name,
                "data_type": f"TYPE_{'STRING' if t.datatype == 'BYTES' else t.datatype}",
                "dims": list(t.dims),
            }
            for t in items
        ]

    config: dict[str, Any] = {
        "name": spec.name,
        "platform": spec.platform,
        "backend": spec.backend,
        "max_batch_size": spec.max_batch_size,
        "input": tensors(spec.inputs),
        "output": tensors(spec.outputs),
    }
    if spec.batching is not None:
        config["dynamic_batching"] = {
            "max_queue_delay_microseconds": spec.batching.max_queue_delay_us,
            "preferred_batch_size": list(spec.batching.preferred_batch_sizes),
        }
    return config


def _triton_type(datatype: str) -> str:
    return "TYPE_STRING" if datatype == "BYTES" else f"TYPE_{datatype}"
