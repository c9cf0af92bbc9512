"""Real servers on 127.0.0.1 for integration tests, started and stopped by fixtures.

Registered as a pytest plugin by ``platform/tests/conftest.py``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 API server (moto) on 127.0.0.1; yields ``host:port``. Any credentials work."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_settings_env(s3_endpoint: str) -> dict[str, str]:
    """LATTE_* variables that point latte at the test S3 server."""
    return {
        "LATTE_S3_ENDPOINT": s3_endpoint,
        "LATTE_S3_SECURE": "false",
        "LATTE_S3_ACCESS_KEY": "testing",
        "LATTE_S3_SECRET_KEY": "testing",
    }
