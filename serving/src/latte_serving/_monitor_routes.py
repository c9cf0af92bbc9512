"""The ``/v2/feedback`` and ``/v2/events`` routes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from latte_serving.errors import InvalidRequestError
from latte_serving.events import record_event
from latte_serving.feedback import Outcome, items_of, record_feedback
from latte_serving.monitoring import Monitor

__all__ = ["add_monitor_routes"]

_MAX_BODY = 1024 * 1024
_ITEM = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "string"}, "model": {"type": "string"}},
}


def add_monitor_routes(app: FastAPI, monitor: Monitor) -> None:
    """Register POST /v2/feedback and POST /v2/events."""
    routes: dict[str, tuple[str, Callable[[Monitor, Any], Outcome]]] = {
        "/v2/feedback": ("feedback", record_feedback),
        "/v2/events": ("events", record_event),
    }
    for path, (key, record) in routes.items():
        app.add_api_route(
            path, _handler(monitor, key, record), methods=["POST"], openapi_extra=_openapi(key)
        )


def _handler(
    monitor: Monitor, key: str, record: Callable[[Monitor, Any], Outcome]
) -> Callable[[Request], Any]:
    async def handle(request: Request) -> Response:
        items, batch = items_of(await _json(request), key)
        outcomes = [record(monitor, item) for item in items]
        if not batch:
            (outcome,) = outcomes
            if outcome.status != 200:
                return JSONResponse(
                    {"error": outcome.error, "reason": outcome.reason}, outcome.status
                )
            return JSONResponse({"recorded": 1})
        rejected = [o.as_json(i) for i, o in enumerate(outcomes) if o.status != 200]
        return JSONResponse({"recorded": len(items) - len(rejected), "rejected": rejected})

    return handle


async def _json(request: Request) -> Any:
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > _MAX_BODY:
            raise InvalidRequestError(f"body over {_MAX_BODY} bytes; send smaller batches", 413)
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidRequestError(f"body is not valid JSON: {exc}") from exc


def _openapi(key: str) -> dict[str, Any]:
    item = dict(_ITEM)
    if key == "events":
        item = {**item, "required": ["id", "event"]}
    schema = {"oneOf": [item, {"type": "object", "properties": {key: {"type": "array"}}}]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
