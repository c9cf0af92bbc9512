"""The Triton fast-path HTTP client against a real asyncio server with odd but legal replies."""

import asyncio

import pytest

from latte_serving.backends._http import HttpPool

REPLIES = {
    b"/length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
    b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n",
    b"/close": b"HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nuntil eof",
    b"/garbage": b"NOT HTTP\r\n\r\n",
}


async def _serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1]) for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )  # fmt: skip
            await reader.readexactly(length)
            path = head.split(b" ")[1]
            writer.write(REPLIES[path])
            await writer.drain()
            if path in {b"/close", b"/garbage"}:
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


def _with_server(scenario):
    async def main():
        server = await asyncio.start_server(_serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = HttpPool("127.0.0.1", port)
        try:
            return await scenario(pool)
        finally:
            await pool.close()
            server.close()
            await server.wait_closed()

    return asyncio.run(main())


def test_content_length_chunked_and_close_delimited_bodies():
    async def scenario(pool):
        first = await pool.request("POST", "/length", b"xyz", {"A": "b"})
        again = await pool.request("GET", "/length")  # reuses the kept-alive connection
        chunked = await pool.request("GET", "/chunked")
        idle_before = len(pool._idle)
        closed = await pool.request("GET", "/close")
        return first, again, chunked, closed, (idle_before, len(pool._idle))

    first, again, chunked, closed, idle = _with_server(scenario)
    assert (first.status, first.body, first.headers["x-a"]) == (200, b"hello", "1")
    assert again.body == b"hello"
    assert chunked.body == b"abcde"
    assert (closed.status, closed.body) == (500, b"until eof")
    assert idle == (1, 0)  # one connection served all; "Connection: close" was not pooled


def test_a_stale_pooled_connection_is_retried_on_a_fresh_one():
    async def scenario(pool):
        await pool.request("GET", "/length")
        for connection in pool._idle:  # the server side goes away while idle
            connection.writer.transport.abort()
        return await pool.request("GET", "/length")

    assert _with_server(scenario).body == b"hello"


def test_a_malformed_reply_is_a_connection_error():
    async def scenario(pool):
        with pytest.raises(ConnectionError, match="malformed status line"):
            await pool.request("GET", "/garbage")

    _with_server(scenario)
