"""Triton's model repository API, answered read-only by the gateway.

``tritonclient``'s ``get_model_repository_index()`` works through the gateway: it lists
the routed versions of every model, READY when the backend says so. Loading and unloading
models is the release's job (the routing file and Triton's repository), so those calls are
refused with a 403 that says where to go instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from latte_serving.gateway import Gateway

__all__ = ["add_repository_routes"]


def add_repository_routes(app: FastAPI, gateway: Gateway) -> None:
    """POST /v2/repository/index, and refusals for .../load and .../unload."""

    async def index() -> list[dict[str, Any]]:
        entries = []
        for name, route in sorted(gateway.routing.routes.items()):
            for version in route.versions:
                ready = await gateway.versions_ready([(name, version)])
                state = "READY" if ready else "UNAVAILABLE"
                entries.append({"name": name, "version": str(version), "state": state})
        return entries

    async def refuse(model: str) -> JSONResponse:
        message = (
            f"model control is disabled on the gateway (model {model[:100]!r}): versions are "
            "loaded by the release (routing file and Triton's repository), not by clients"
        )
        return JSONResponse({"error": message}, status_code=403)

    app.add_api_route("/v2/repository/index", index, methods=["POST"])
    for action in ("load", "unload"):
        app.add_api_route(f"/v2/repository/models/{{model}}/{action}", refuse, methods=["POST"])
