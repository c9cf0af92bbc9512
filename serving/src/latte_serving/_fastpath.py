"""``POST /v2/models/{m}[/versions/{v}]/infer`` served as plain ASGI, ahead of FastAPI.

The infer route is the hot path: FastAPI's route matching over every route and its
per-request dependency solving cost more than the gateway's own work on a small model. The
route stays declared in FastAPI, so it is in the OpenAPI document, but this middleware
answers it first. Everything else goes on to FastAPI.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from latte_serving._logging import REQUEST_ID
from latte_serving.codec import parse_request
from latte_serving.errors import BackendError, InvalidRequestError
from latte_serving.gateway import Gateway
from latte_serving.monitoring import Monitor

__all__ = ["InferFastPath", "request_headers"]

logger = logging.getLogger("latte_serving.app")
_INFER = re.compile(r"/v2/models/([^/]+)(?:/versions/([^/]+))?/infer")
_JSON = b"application/json"


def request_headers(scope: Scope) -> dict[str, str]:
    """Lower-case header names -> values, decoded once per request and kept in the scope."""
    cached: dict[str, str] | None = scope.get("latte.headers")
    if cached is None:
        cached = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        scope["latte.headers"] = cached
    return cached


class InferFastPath:
    def __init__(
        self,
        app: ASGIApp,
        *,
        gateway: Gateway,
        max_body_bytes: int,
        body_timeout_s: float,
        monitor: Monitor | None = None,
    ) -> None:
        self.app = app
        self.gateway = gateway
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.monitor = monitor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _INFER.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = request_headers(scope)
        try:
            body = await _read_body(receive, self.max_body_bytes, self.body_timeout_s)
            request = parse_request(body, headers.get("inference-header-content-length"))
            answer = await self.gateway.infer(match[1], match[2], request, headers)
        except (InvalidRequestError, BackendError) as exc:
            if isinstance(exc, BackendError):  # the client's own mistakes are not logged
                logger.warning(
                    "backend failed", extra={"path": scope["path"], "reason": exc.reason,
                                             "status": exc.status_code, "error": str(exc)}
                )  # fmt: skip
            if self.monitor is not None:
                self.monitor.observe_failure(headers, match[1], exc.status_code)
            await _send(send, exc.status_code, json.dumps({"error": str(exc)}).encode(), [])
            return
        except Exception as exc:  # a bug: answer a JSON 500, log it, keep serving
            logger.exception("unexpected error serving %s", scope["path"])
            message = json.dumps({"error": f"internal error ({exc.__class__.__name__})"})
            await _send(send, 500, message.encode(), [])
            return
        if self.monitor is not None:
            self.monitor.observe(
                REQUEST_ID.get(), headers, match[1], answer.version, answer.response
            )
        extra = [
            (b"x-latte-model-version", str(answer.version).encode()),
            (b"x-latte-route", answer.route.encode()),
        ]
        digest = self.gateway.digest(match[1], answer.version)
        if digest is not None:
            extra.append((b"x-latte-model-digest", digest.encode()))
        binary = answer.response.header_length is not None
        if binary:
            length = str(answer.response.header_length).encode()
            extra.append((b"inference-header-content-length", length))
        await _send(send, 200, answer.response.body, extra, binary=binary)


async def _read_body(receive: Receive, limit: int, timeout_s: float) -> bytes:
    """The whole body within ``timeout_s`` (408) and ``limit`` bytes (413)."""
    first = await receive()  # a small body has usually arrived with the head: no timer
    if first["type"] == "http.request" and not first.get("more_body", False):
        body: bytes = first.get("body", b"")
        if len(body) > limit:
            raise InvalidRequestError(
                f"request body exceeds the limit of {limit} bytes; send smaller batches", 413
            )
        return body
    try:
        async with asyncio.timeout(timeout_s):
            return await _read_chunks(_replay(first, receive), limit)
    except TimeoutError:
        raise InvalidRequestError(
            f"request body not received within {timeout_s:g}s; send it at once", 408
        ) from None


def _replay(first: Any, receive: Receive) -> Receive:
    pending = [first]

    async def again() -> Any:
        return pending.pop() if pending else await receive()

    return again


async def _read_chunks(receive: Receive, limit: int) -> bytes:
    # Content-Length was checked by GatewayMiddleware; a chunked body is counted as it comes.
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InvalidRequestError("client disconnected before sending the whole body", 400)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise InvalidRequestError(
                f"request body exceeds the limit of {limit} bytes; send smaller batches", 413
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]],
    *,
    binary: bool = False,
) -> None:
    headers = [
        (b"content-type", b"application/octet-stream" if binary else _JSON),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
