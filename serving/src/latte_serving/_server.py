"""uvicorn for the gateway: its config in one place, with request heads bounded in size and time.

uvicorn's httptools protocol buffers request lines and headers without limit (8 x 32 MiB
unauthenticated headers held 549 MiB here) and waits for them forever. The protocol below
counts the bytes of a request head while it arrives and answers 431 past
``max_header_bytes``, or 408 when the head is not complete within ``header_timeout_s``,
then closes the connection — all before the app (and its API-key check) sees the request.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from latte_serving.settings import GatewaySettings

__all__ = ["bounded_protocol", "server_config"]

_JOIN_LIMIT = 256 * 1024
_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def server_config(app: Any, settings: GatewaySettings) -> uvicorn.Config:
    """The uvicorn config the gateway runs with (the CLI and the tests use the same)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=bounded_protocol(settings.max_header_bytes, settings.header_timeout_s),
        proxy_headers=False,  # nothing reads the client address; saves a middleware layer
        log_config=None,
        access_log=False,  # one JSON line per request would cost more than the gateway adds
        timeout_graceful_shutdown=int(settings.drain_timeout_s),
        lifespan="on",  # a failed startup (e.g. Triton never answered) must stop the process
    )


def bounded_protocol(max_header_bytes: int, header_timeout_s: float) -> type[asyncio.Protocol]:
    """An httptools protocol class whose request heads are bounded."""

    class BoundedHttpToolsProtocol(_BoundedHead):
        max_head = max_header_bytes
        head_timeout = header_timeout_s

    return BoundedHttpToolsProtocol


class _BoundedHead(HttpToolsProtocol):
    max_head = 64 * 1024
    head_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = False  # from a message's first byte until its headers are complete
        self._head_bytes = 0
        self._head_ended = False
        self._parsed_head = 0
        self._head_too_large = False
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        started_in_head = self._in_head
        self._head_ended = False
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        # a head is incomplete after this read: from now on it has head_timeout to finish
        # (a head that arrives in one read, the usual case, never arms a timer)
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)
        if not started_in_head or self._head_ended:
            return
        # the whole read was head bytes, which httptools holds until the head ends: count
        # them (at most one read past the limit is ever held)
        self._head_bytes += len(data)
        if self._head_bytes > self.max_head:
            self._refuse(431, f"request line and headers exceed {self.max_head} bytes")

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        # heads that arrive in one read are counted here, header by header
        self._parsed_head += size
        if self._parsed_head > self.max_head:
            self._head_too_large = True
            raise ValueError("request head too large")  # httptools stops parsing

    def send_400_response(self, msg: str) -> None:
        if self._head_too_large:
            self._refuse(431, f"request line and headers exceed {self.max_head} bytes")
        else:
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        self._in_head = True
        self._parsed_head = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_ended = True
        self._head_bytes = 0
        self._cancel_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def _cancel_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(408, f"request headers not received within {self.head_timeout:g}s")

    def _refuse(self, status: int, message: str) -> None:
        self._cancel_timer()
        body = json.dumps({"error": message}).encode()
        head = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])
        self.transport.write(
            head
            + b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body)
            + b"connection: close\r\n\r\n"
            + body
        )
        self.transport.close()


class _CoalescingTransport:
    """A transport whose writes in one event-loop step leave in one ``send``.

    uvicorn writes a response's status line and headers, then its body: two system calls
    and two loopback segments per answer. Buffering the writes until the step ends joins
    them, which profiling showed to be the largest single cost of a proxied request.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending or self._transport.is_closing():
            return
        if len(pending) == 1 or sum(map(len, pending)) > _JOIN_LIMIT:
            for data in pending:  # a large body is not copied just to save one call
                self._transport.write(data)
        else:
            self._transport.write(b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
