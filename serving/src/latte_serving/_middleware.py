"""A pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path).

It gives each request an id (``X-Request-ID`` in, or a new one) that logs and the response
carry, counts in-flight requests, refuses bodies whose Content-Length is over the limit, and
checks the API key on every path but health and metrics.
"""

from __future__ import annotations

import itertools
import json
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from latte_serving._fastpath import request_headers
from latte_serving._ints import ascii_int
from latte_serving._logging import REQUEST_ID
from latte_serving.metrics import GatewayMetrics
from latte_serving.security import OPEN_PATHS, KeyChecker

__all__ = ["GatewayMiddleware"]

_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)


class GatewayMiddleware:
    def __init__(
        self, app: ASGIApp, *, keys: KeyChecker, metrics: GatewayMetrics, max_body_bytes: int
    ) -> None:
        self.app = app
        self.keys = keys
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            lifespan = scope["type"] == "lifespan"
            await self.app(scope, receive, _one_line_failures(send) if lifespan else send)
            return
        headers = request_headers(scope)
        request_id = _request_id(headers.get("x-request-id", ""))
        token = REQUEST_ID.set(request_id)
        try:
            refusal = self._refusal(scope["path"], headers)
            if refusal is not None:
                await _send_error(send, *refusal, request_id)
                return
            self.metrics.in_flight.inc()
            try:
                await self.app(scope, receive, _with_request_id(send, request_id))
            finally:
                self.metrics.in_flight.dec()
        finally:
            REQUEST_ID.reset(token)

    def _refusal(self, path: str, headers: dict[str, str]) -> tuple[int, str] | None:
        given = headers.get("content-length")
        length = ascii_int(given) if given is not None else 0
        if length is None:
            return 400, "Content-Length must be a non-negative integer in ASCII digits"
        if length > self.max_body_bytes:
            return 413, (
                f"request body of {length} bytes exceeds the limit of {self.max_body_bytes}; "
                "send smaller batches"
            )
        if path not in OPEN_PATHS and not self.keys.allows(headers):
            return 401, "missing or wrong API key; send 'Authorization: Bearer <key>'"
        return None


def _request_id(given: str) -> str:
    # a client's id is kept when it is short and plain, so logs can be joined with theirs
    if 0 < len(given) <= 128 and given.isascii() and given.isprintable():
        return given
    # process prefix + counter: unique per gateway, and free of the ~90 us os.urandom()
    # that uuid4() measured here on every request
    return f"{_ID_PREFIX}-{next(_ID_COUNTER)}"


def _one_line_failures(send: Send) -> Send:
    """A failed startup reports its error's last line, not Starlette's whole traceback."""

    async def wrapped(message: Message) -> None:
        if message["type"].endswith(".failed") and message.get("message"):
            lines = [line for line in str(message["message"]).splitlines() if line.strip()]
            message = {**message, "message": lines[-1] if lines else "startup failed"}
        await send(message)

    return wrapped


def _with_request_id(send: Send, request_id: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
        await send(message)

    return wrapped


async def _send_error(send: Send, status: int, error: str, request_id: str) -> None:
    body = json.dumps({"error": error}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
